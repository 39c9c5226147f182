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

output "bootstrap_brokers_sasl_scram" {
  description = "SASL/SCRAM over TLS bootstrap servers (host:9096,...): Knative's data plane, the topics Job, and Parley unless iam_auth."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "bootstrap_brokers_sasl_iam" {
  description = "IAM over TLS bootstrap servers (host:9098,...): the S3 bridge, and Parley with parley_iam; empty unless iam_auth."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "bootstrap_servers" {
  description = "What Parley's own clients use (KAFKA_BROKERS): the IAM listener with parley_iam, the SCRAM listener otherwise."
  value       = var.parley_iam ? aws_msk_cluster.this.bootstrap_brokers_sasl_iam : aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "uses_tls" {
  description = "Whether bootstrap_servers is a TLS listener (always, now that every listener Parley uses is TLS)."
  value       = true
}

output "client_security" {
  description = "How Parley's clients authenticate (KAFKA_TLS, KAFKA_SASL_MECHANISM) and the SCRAM user name."
  value = {
    tls            = true
    sasl_mechanism = var.parley_iam ? "AWS_MSK_IAM" : "SCRAM-SHA-512"
    scram_username = var.scram_username
  }
}

output "scram_password" {
  description = "Password of the SCRAM user (also in Secrets Manager as AmazonMSK_<name>-<user>)."
  value       = random_password.scram.result
  sensitive   = true
}

output "replication_factor" {
  description = "Replication factor for topics: min(3, broker_count)."
  value       = local.replication_factor
}

output "security_group_id" {
  description = "Security group of the brokers (members may connect)."
  value       = aws_security_group.this.id
}
