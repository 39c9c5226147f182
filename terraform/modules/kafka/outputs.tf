output "cluster_arn" {
  description = "MSK cluster ARN."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_tls" {
  description = "TLS bootstrap servers (host:9094,...)."
  value       = aws_msk_cluster.this.bootstrap_brokers_tls
}

output "bootstrap_brokers_plaintext" {
  description = "Plaintext bootstrap servers (host:9092,...); empty when client_broker_encryption is TLS."
  value       = aws_msk_cluster.this.bootstrap_brokers
}

output "bootstrap_servers" {
  description = "What Parley's clients should use: plaintext while it is enabled (the app has no TLS client yet), TLS otherwise."
  value       = var.client_broker_encryption == "TLS" ? aws_msk_cluster.this.bootstrap_brokers_tls : aws_msk_cluster.this.bootstrap_brokers
}

output "uses_tls" {
  description = "Whether bootstrap_servers is the TLS listener."
  value       = var.client_broker_encryption == "TLS"
}

output "replication_factor" {
  description = "Replication factor for topics: min(3, broker_count)."
  value       = local.replication_factor
}

output "security_group_id" {
  description = "Security group of the brokers (members may connect)."
  value       = aws_security_group.this.id
}
