output "address" {
  description = "Primary endpoint host name."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "redis_addr" {
  description = "host:port, the form REDIS_ADDR takes."
  value       = "${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}

output "tls" {
  description = "Whether clients must use TLS (REDIS_TLS)."
  value       = var.transit_encryption_enabled
}

output "username" {
  description = "RBAC user (REDIS_USERNAME), or null without transit encryption."
  value       = var.transit_encryption_enabled ? var.username : null
}

output "password" {
  description = "RBAC user's password (REDIS_PASSWORD), or null without transit encryption."
  value       = var.transit_encryption_enabled ? random_password.user[0].result : null
  sensitive   = true
}
