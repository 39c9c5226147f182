variable "name" {
  description = "Name prefix of AWS resources (IAM roles, connector), e.g. parley-prod."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of Parley (values.yaml `namespace`; must already exist)."
  type        = string
  default     = "parley"
}

variable "chart_path" {
  description = "Path to charts/parley."
  type        = string
}

variable "image" {
  description = "Image registry and tag of the function and socket-edge images (values.yaml `image`)."
  type = object({
    registry = string
    tag      = string
  })
}

variable "oidc_issuer" {
  description = "Public base URL of the API, also the OIDC issuer (OIDC_ISSUER), e.g. https://api.parley.example."
  type        = string
  validation {
    condition     = can(regex("^https://[^/]+", var.oidc_issuer))
    error_message = "oidc_issuer must be an https:// URL (tokens are verified against it)."
  }
}

variable "allowed_origins" {
  description = "Browser origins allowed to open WebSockets (ALLOWED_ORIGINS)."
  type        = list(string)
  default     = []
}

variable "database" {
  description = "PostgreSQL server (modules/postgres) and the application role/database to create on it."
  type = object({
    host            = string
    port            = number
    name            = string
    app_role        = optional(string, "parley_app")
    master_username = string
    master_password = string
  })
  sensitive = true
}

variable "redis_addr" {
  description = "Redis host:port (REDIS_ADDR)."
  type        = string
}

variable "redis_auth" {
  description = "TLS and the RBAC user of Redis (modules/redis): REDIS_TLS in parley-config, REDIS_USERNAME/REDIS_PASSWORD in parley-secrets."
  type = object({
    tls      = bool
    username = optional(string)
    password = optional(string)
  })
  default   = { tls = false }
  sensitive = true
}

variable "postgres_ca_pem" {
  description = "PEM bundle of the CAs that sign the RDS certificate; written to the ConfigMap rds-ca and DATABASE_URL uses sslmode=verify-full with it. null: sslmode=require (encrypted, server not authenticated)."
  type        = string
  default     = null
}

variable "kafka" {
  description = "Kafka cluster (modules/kafka): what Parley's clients use and how they authenticate, the SCRAM listener (Knative's data plane, the topics Job, the bridge), and topic settings."
  type = object({
    bootstrap_servers       = string
    tls                     = bool
    sasl_mechanism          = string
    scram_bootstrap_servers = string
    scram_username          = string
    scram_password          = string
    bootstrap_servers_tls   = string
    iam_bootstrap_servers   = optional(string, "")
    cluster_arn             = string
    security_group_id       = string
    partitions              = number
    replication_factor      = number
  })
  validation {
    condition     = var.kafka.partitions >= 1 && var.kafka.replication_factor >= 1 && var.kafka.replication_factor <= 3
    error_message = "partitions must be >= 1 and replication_factor 1..3."
  }
  validation {
    condition     = contains(["SCRAM-SHA-512", "AWS_MSK_IAM"], var.kafka.sasl_mechanism)
    error_message = "kafka.sasl_mechanism must be SCRAM-SHA-512 or AWS_MSK_IAM."
  }
}

variable "topics" {
  description = "Topics Parley's own code writes, created here (values.yaml `topics`)."
  type        = list(string)
  default     = ["im.delivery", "s3.events"]
}

variable "s3_events_topic" {
  description = "Topic the S3 bridge writes (values.yaml topics.s3Events)."
  type        = string
  default     = "s3.events"
}

variable "keto" {
  description = "Keto URLs (modules/keto)."
  type = object({
    read_url  = string
    write_url = string
  })
}

variable "s3" {
  description = "File bucket and notification queue (modules/s3)."
  type = object({
    bucket_name      = string
    bucket_arn       = string
    region           = string
    kms_key_arn      = optional(string)
    events_queue_url = string
    events_queue_arn = string
  })
}

variable "s3_auth_mode" {
  description = "\"irsa\" (preferred: an IAM role on the namespace's default ServiceAccount) or \"static_keys\" (an IAM user's keys in parley-secrets). See iam.tf for the app-side caveat."
  type        = string
  default     = "irsa"
  validation {
    condition     = contains(["irsa", "static_keys"], var.s3_auth_mode)
    error_message = "s3_auth_mode must be irsa or static_keys."
  }
}

variable "irsa" {
  description = "The cluster's IAM OIDC provider (modules/kubernetes), for the IRSA trust policy."
  type = object({
    oidc_provider_arn = string
    oidc_issuer       = string
  })
}

variable "s3_bridge" {
  description = "The S3 -> Kafka bridge (MSK Connect + SQS source plugin). Without it, uploads are never checked by `upload`."
  type = object({
    enabled             = bool
    plugin_bucket_arn   = optional(string)
    plugin_file_key     = optional(string)
    plugin_content_type = optional(string, "JAR")
    subnet_ids          = optional(list(string), [])
    connector_config    = optional(map(string), {})
  })
  default = { enabled = false }
  validation {
    condition     = !var.s3_bridge.enabled || (var.s3_bridge.plugin_bucket_arn != null && var.s3_bridge.plugin_file_key != null && length(var.s3_bridge.subnet_ids) >= 2)
    error_message = "An enabled s3_bridge needs plugin_bucket_arn, plugin_file_key and at least two subnet_ids."
  }
}

variable "turn_secret" {
  description = "TURN REST shared secret (TURN_SECRET); null: no TURN credentials are issued."
  type        = string
  default     = null
  sensitive   = true
}

variable "push" {
  description = "Push credentials of the push function: the FCM service-account key (JSON) and the APNs auth key (.p8 PEM) go into parley-secrets (FCM_SERVICE_ACCOUNT_JSON, APNS_KEY); the APNs key id, team id, topic (bundle id) and environment into parley-config. A null key turns that platform off (Web Push needs nothing: its VAPID key is generated by the function)."
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
  validation {
    condition     = var.push.apns_key_p8 == null || (var.push.apns_key_id != "" && var.push.apns_team_id != "" && var.push.apns_topic != "")
    error_message = "An APNs key needs apns_key_id, apns_team_id and apns_topic."
  }
}

variable "extra_env" {
  description = "More non-secret settings for parley-config (e.g. RATE_LIMIT_USER, ICE_SERVERS). Overrides the wired ones."
  type        = map(string)
  default     = {}
}

variable "postgres_client_image" {
  description = "Image with psql for the database bootstrap Job."
  type        = string
  default     = "postgres:15-alpine"
}

variable "kafka_client_image" {
  description = "Image with /opt/kafka/bin/kafka-topics.sh for the topics Job."
  type        = string
  default     = "apache/kafka:3.7.0"
}

variable "tags" {
  description = "Tags added to AWS resources."
  type        = map(string)
  default     = {}
}
