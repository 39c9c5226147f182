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
    Client-to-broker encryption: "TLS" (TLS listeners only) or "TLS_PLAINTEXT" (also plaintext
    9092, for tools that cannot do TLS). Parley (infra/kafka, KAFKA_TLS) and the chart's Knative
    Kafka config speak TLS: keep "TLS".
  EOT
  type        = string
  default     = "TLS"
  validation {
    condition     = contains(["TLS", "TLS_PLAINTEXT"], var.client_broker_encryption)
    error_message = "client_broker_encryption must be TLS or TLS_PLAINTEXT (never PLAINTEXT only)."
  }
}

variable "iam_auth" {
  description = "Enable IAM authentication (port 9098): needed by the MSK Connect S3 bridge (IAM or nothing) and by parley_iam. SCRAM stays on for Knative's data plane, which has no IAM support."
  type        = bool
  default     = false
}

variable "parley_iam" {
  description = "Parley's own clients use IAM (KAFKA_SASL_MECHANISM=AWS_MSK_IAM, IRSA) instead of SCRAM. Needs iam_auth."
  type        = bool
  default     = false
}

variable "scram_username" {
  description = "SASL/SCRAM user created for Parley and Knative's Kafka data plane."
  type        = string
  default     = "parley"
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
