variable "name" {
  description = "MSK cluster name and name prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per zone; the broker count must be a multiple of their number."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to reach the brokers (the EKS node security group)."
  type        = list(string)
}

variable "kafka_version" {
  description = "Apache Kafka version offered by MSK."
  type        = string
  default     = "3.6.0"
}

variable "broker_count" {
  description = "Broker nodes: 3 in prod (replication factor 3), 2 in dev (MSK's minimum across 2 zones)."
  type        = number
  default     = 3
  validation {
    condition     = var.broker_count >= 2
    error_message = "MSK needs at least 2 brokers."
  }
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "ebs_volume_size_gb" {
  description = "EBS storage per broker."
  type        = number
  default     = 100
}

variable "default_partitions" {
  description = "Default partitions of topics created without an explicit count (Knative passes its own)."
  type        = number
  default     = 8
}

variable "client_broker_encryption" {
  description = <<-EOT
    Client-to-broker encryption: "TLS" (only 9094) or "TLS_PLAINTEXT" (9094 and plaintext 9092).
    Parley's Go clients (infra/kafka, kafka-go) and the chart's Kafka broker config have no TLS
    setting today, so the envs use TLS_PLAINTEXT until they do; switch to "TLS" then.
  EOT
  type        = string
  default     = "TLS"
  validation {
    condition     = contains(["TLS", "TLS_PLAINTEXT"], var.client_broker_encryption)
    error_message = "client_broker_encryption must be TLS or TLS_PLAINTEXT (never PLAINTEXT only)."
  }
}

variable "log_retention_days" {
  description = "Retention of the broker logs."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
