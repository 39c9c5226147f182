variable "namespace" {
  description = "Namespace Keto is installed in (Parley's, so keto-read.<ns>.svc resolves)."
  type        = string
}

variable "chart_version" {
  description = "ory/keto Helm chart version (https://k8s.ory.sh/helm/charts). Value names (automigration, secret.nameOverride) are those of recent charts."
  type        = string
  default     = "0.50.0"
}

variable "image_tag" {
  description = "oryd/keto image tag. Parley is developed against v0.13.0-alpha.0 (DESIGN section 6)."
  type        = string
  default     = "v0.13.0-alpha.0"
}

variable "replicas" {
  description = "Keto replicas (2+ in prod; a PDB is added then)."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 1
    error_message = "replicas must be at least 1."
  }
}

variable "namespaces_opl" {
  description = "Contents of the Ory Permission Language file (infra/platform/keto/namespaces.keto.ts)."
  type        = string
}

variable "db_host" {
  description = "PostgreSQL host (modules/postgres)."
  type        = string
}

variable "db_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "db_master_username" {
  description = "Master user, used only by the bootstrap Job."
  type        = string
}

variable "db_master_password" {
  description = "Master password, used only by the bootstrap Job."
  type        = string
  sensitive   = true
}

variable "database_name" {
  description = "Keto's own database on the same server."
  type        = string
  default     = "parley_keto"
}

variable "database_role" {
  description = "Role Keto connects as (owner of database_name)."
  type        = string
  default     = "parley_keto"
}

variable "postgres_client_image" {
  description = "Image with psql for the bootstrap Job."
  type        = string
  default     = "postgres:15-alpine"
}
