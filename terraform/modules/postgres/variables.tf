variable "name" {
  description = "Instance identifier and name prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (at least two zones, required by RDS subnet groups)."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "An RDS subnet group needs at least two subnets in different zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS node security group)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL version; this stack targets 15 (parameter group family postgres15)."
  type        = string
  default     = "15"
  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be 15 or 15.x (the parameter group family is postgres15)."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage_gb" {
  description = "Initial storage."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling (0 disables autoscaling)."
  type        = number
  default     = 500
}

variable "database_name" {
  description = "Database created with the instance: Parley's application database."
  type        = string
  default     = "parley"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier."
  }
}

variable "master_username" {
  description = "Master user. Used only to bootstrap roles and databases, never by the application."
  type        = string
  default     = "parley_admin"
}

variable "multi_az" {
  description = "Synchronous standby in another zone (prod: true)."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Automated backup retention (point-in-time recovery window)."
  type        = number
  default     = 7
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1..35 (0 would disable backups)."
  }
}

variable "deletion_protection" {
  description = "Block deletion of the instance (prod: true)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot on destroy (dev only)."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Apply modifications now instead of in the maintenance window."
  type        = bool
  default     = false
}

variable "log_min_duration_ms" {
  description = "Log statements slower than this (ms); -1 disables."
  type        = number
  default     = 500
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
