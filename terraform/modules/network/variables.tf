variable "name" {
  description = "Name prefix of every network resource (e.g. parley-dev)."
  type        = string
}

variable "cidr" {
  description = "VPC CIDR block. A /16 leaves room for /20 subnets per zone (EKS pods use VPC addresses)."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) <= 16
    error_message = "cidr must be a valid IPv4 CIDR of /16 or larger."
  }
}

variable "az_count" {
  description = "Availability zones to span. RDS Multi-AZ, MSK and EKS need at least 2; prod uses 3 (one MSK broker per zone)."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone (zone-failure tolerant, prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
