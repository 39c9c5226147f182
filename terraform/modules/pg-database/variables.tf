variable "name" {
  description = "Component name; prefixes the Job and Secret (e.g. keto, parley)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace the bootstrap Job runs in."
  type        = string
}

variable "host" {
  description = "PostgreSQL host."
  type        = string
}

variable "port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "master_username" {
  description = "Administrative user that creates the role and database."
  type        = string
}

variable "master_password" {
  description = "Password of master_username."
  type        = string
  sensitive   = true
}

variable "role" {
  description = "Login role to create (owner of the database)."
  type        = string
}

variable "database" {
  description = "Database to create."
  type        = string
}

variable "postgres_client_image" {
  description = "Image with psql."
  type        = string
}
