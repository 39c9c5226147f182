variable "name" {
  description = "Replication group id and name prefix (<= 40 chars, lowercase)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, at most 40 characters."
  }
}

variable "vpc_id" {
  description = "VPC of the cache."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 6379 (the EKS node security group)."
  type        = list(string)
}

variable "engine_version" {
  description = "Redis engine version (7.x)."
  type        = string
  default     = "7.1"
  validation {
    condition     = can(regex("^7\\.", var.engine_version))
    error_message = "engine_version must be a Redis 7 version."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "replicas" {
  description = "Read replicas besides the primary. >= 1 enables automatic failover and Multi-AZ (prod)."
  type        = number
  default     = 0
  validation {
    condition     = var.replicas >= 0 && var.replicas <= 5
    error_message = "replicas must be 0..5."
  }
}

variable "transit_encryption_enabled" {
  description = "TLS between clients and Redis (REDIS_TLS=true in infra/redis) and RBAC: an ACL user for Parley, the default user disabled. Requires a replacement of an existing unencrypted group."
  type        = bool
  default     = true
}

variable "username" {
  description = "ElastiCache RBAC user Parley authenticates as (REDIS_USERNAME); only with transit encryption."
  type        = string
  default     = "parley"
}

variable "key_prefix" {
  description = "Key prefix Parley uses (REDIS_PREFIX); the user's ACL allows only keys under it."
  type        = string
  default     = "parley:"
}

variable "apply_immediately" {
  description = "Apply modifications now instead of in the maintenance window."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
