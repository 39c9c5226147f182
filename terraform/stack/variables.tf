variable "environment" {
  description = "Environment name, used in resource names (parley-<environment>)."
  type        = string
  default     = "dev"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags on every AWS resource."
  type        = map(string)
  default     = {}
}

# --- network and cluster -------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "VPC CIDR (/16 or larger)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones (2 or 3); MSK broker count must be a multiple of it."
  type        = number
  default     = 2
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper) instead of one per zone."
  type        = bool
  default     = true
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.31"
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to reach the public Kubernetes API (where Terraform and operators run). No default on purpose."
  type        = list(string)
  validation {
    condition     = length(var.api_allowed_cidrs) > 0
    error_message = "Give at least one CIDR (your egress IP /32)."
  }
}

variable "cluster_admin_arns" {
  description = "Extra IAM principals granted cluster-admin."
  type        = list(string)
  default     = []
}

variable "node_groups" {
  description = "EKS managed node groups."
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = optional(number, 50)
    labels         = optional(map(string), {})
  }))
  default = {
    general = { instance_types = ["m7g.large"], min_size = 2, desired_size = 3, max_size = 4 }
  }
}

# --- data stores ---------------------------------------------------------------------------------

variable "protect_data" {
  description = "Deletion protection + final snapshot on RDS, no force-destroy of the bucket, changes in maintenance windows. false only for throwaway environments."
  type        = bool
  default     = false
}

variable "postgres_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "postgres_multi_az" {
  description = "RDS Multi-AZ standby."
  type        = bool
  default     = false
}

variable "postgres_backup_retention_days" {
  description = "RDS backup retention."
  type        = number
  default     = 3
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_replicas" {
  description = "Redis replicas (>= 1 enables failover)."
  type        = number
  default     = 0
}

variable "kafka_broker_count" {
  description = "MSK brokers (a multiple of az_count)."
  type        = number
  default     = 2
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.t3.small"
}

variable "kafka_volume_size_gb" {
  description = "EBS per broker."
  type        = number
  default     = 20
}

variable "kafka_partitions" {
  description = "Partitions of Parley's topics (values.yaml kafka.partitions). Fixed once topics exist: keys map to partitions."
  type        = number
  default     = 8
}

variable "kafka_client_broker_encryption" {
  description = "TLS (TLS listeners only) or TLS_PLAINTEXT (also plaintext 9092 for tools). Parley and Knative use TLS either way."
  type        = string
  default     = "TLS"
}

variable "kafka_iam_auth" {
  description = "Parley's own Kafka clients authenticate with AWS_MSK_IAM (IRSA) instead of SASL/SCRAM; Knative's data plane stays on SCRAM. Needs s3_auth_mode = irsa."
  type        = bool
  default     = false
}

variable "redis_transit_encryption" {
  description = "TLS to ElastiCache and an RBAC user for Parley (REDIS_TLS, REDIS_USERNAME/PASSWORD). Changing it replaces the replication group."
  type        = bool
  default     = true
}

variable "files_bucket_name" {
  description = "Globally unique S3 bucket for files."
  type        = string
}

variable "s3_auth_mode" {
  description = "irsa (preferred) or static_keys (needed until infra/s3 uses the SDK default credential chain; see modules/parley)."
  type        = string
  default     = "irsa"
}

variable "s3_bridge_plugin" {
  description = "S3 location of the SQS source connector plugin for the S3 -> Kafka bridge; null disables the bridge."
  type = object({
    bucket_arn = string
    file_key   = string
  })
  default = null
}

# --- platform ------------------------------------------------------------------------------------

variable "knative_domain" {
  description = "Domain of Knative Service URLs."
  type        = string
}

variable "knative_operator_chart_version" {
  description = "knative-operator Helm chart version."
  type        = string
  default     = "v1.16.0"
}

variable "knative_serving_version" {
  description = "Knative Serving version."
  type        = string
  default     = "1.16"
}

variable "knative_eventing_version" {
  description = "Knative Eventing version."
  type        = string
  default     = "1.16"
}

variable "knative_kafka_broker_version" {
  description = "eventing-kafka-broker release."
  type        = string
  default     = "1.16.0"
}

variable "keto_chart_version" {
  description = "ory/keto Helm chart version."
  type        = string
  default     = "0.50.0"
}

variable "keto_image_tag" {
  description = "oryd/keto image tag."
  type        = string
  default     = "v0.13.0-alpha.0"
}

variable "keto_replicas" {
  description = "Keto replicas."
  type        = number
  default     = 1
}

# --- Parley --------------------------------------------------------------------------------------

variable "image_registry" {
  description = "Registry of Parley's images."
  type        = string
  default     = "ghcr.io/parley-im"
}

variable "image_tag" {
  description = "Tag of Parley's images."
  type        = string
  default     = "0.1.0"
}

variable "public_url" {
  description = "Public base URL of the API; also OIDC_ISSUER (e.g. https://api.dev.parley.example)."
  type        = string
}

variable "app_origins" {
  description = "Browser origins of the app: S3 CORS and the WebSocket Origin allow-list. The chart serves the web client on the API host, so include public_url's origin."
  type        = list(string)
  default     = []
}

variable "turn_secret" {
  description = "TURN REST shared secret; null disables TURN credentials. Pass with TF_VAR_turn_secret, not in a file."
  type        = string
  default     = null
  sensitive   = true
}

variable "push" {
  description = "Push credentials (FCM service-account JSON, APNs .p8 key, key id, team id, topic, sandbox): see modules/parley. Pass the keys with TF_VAR_push, not in a file."
  type = object({
    fcm_service_account_json = optional(string)
    apns_key_p8              = optional(string)
    apns_key_id              = optional(string, "")
    apns_team_id             = optional(string, "")
    apns_topic               = optional(string, "")
    apns_sandbox             = optional(bool, false)
  })
  default   = {}
  sensitive = true
}

variable "extra_env" {
  description = "Extra non-secret settings for parley-config (e.g. LOG_LEVEL, RATE_LIMIT_USER)."
  type        = map(string)
  default     = {}
}
