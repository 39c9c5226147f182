variable "bucket_name" {
  description = "Globally unique bucket name (S3_BUCKET). No dots: infra/s3 uses path-style URLs and dots break TLS with virtual-host style."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits and hyphens."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to PUT/GET with presigned URLs (e.g. https://api.parley.example, where the chart serves the web client). Empty: no CORS rule."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : can(regex("^https?://[^/]+$", o))])
    error_message = "Each origin is scheme://host[:port] with no path (\"*\" is deliberately not accepted)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS; null uses SSE-S3 (AES256). With a KMS key, the functions' role also needs kms:Decrypt/GenerateDataKey."
  type        = string
  default     = null
}

variable "notification_prefix" {
  description = "Only objects under this key prefix are announced (empty: all)."
  type        = string
  default     = ""
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a non-empty bucket (dev only: deletes every file)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
