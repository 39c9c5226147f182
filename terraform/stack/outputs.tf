output "cluster_name" {
  description = "EKS cluster: `aws eks update-kubeconfig --name <this> --region <region>`."
  value       = module.kubernetes.cluster_name
}

output "kafka_bootstrap_servers" {
  description = "Bootstrap servers Parley's own clients use (KAFKA_BROKERS)."
  value       = module.kafka.bootstrap_servers
}

output "kafka_security" {
  description = "What Parley's Kafka clients were told (KAFKA_TLS, KAFKA_SASL_MECHANISM, the SCRAM user) and the SCRAM listener Knative uses. The password is in parley-secrets / kafka-knative-auth and Secrets Manager."
  value = merge(module.kafka.client_security, {
    knative_bootstrap_servers = module.kafka.bootstrap_brokers_sasl_scram
  })
}

output "redis_security" {
  description = "Whether Redis clients use TLS (REDIS_TLS) and the RBAC user (REDIS_USERNAME); the password is in parley-secrets."
  value       = { tls = module.redis.tls, username = module.redis.username }
}

output "database_sslmode" {
  description = "How DATABASE_URL connects: verify-full against the RDS CA bundle mounted from the ConfigMap rds-ca."
  value       = "verify-full (sslrootcert=/etc/parley/tls/postgres/ca.pem)"
}

output "postgres_host" {
  description = "RDS endpoint."
  value       = module.postgres.host
}

output "postgres_master_password" {
  description = "RDS master password (bootstrap only): `terraform output -raw postgres_master_password`."
  value       = module.postgres.master_password
  sensitive   = true
}

output "database_url" {
  description = "DATABASE_URL of the application role (also in the Secret parley-secrets)."
  value       = module.parley.database_url
  sensitive   = true
}

output "redis_addr" {
  description = "REDIS_ADDR."
  value       = module.redis.redis_addr
}

output "files_bucket" {
  description = "S3 bucket of files."
  value       = module.s3.bucket_name
}

output "s3_events_queue_url" {
  description = "SQS queue receiving the bucket's ObjectCreated notifications."
  value       = module.s3.events_queue_url
}

output "files_role_arn" {
  description = "IRSA role of the parley namespace's default ServiceAccount (null with static keys)."
  value       = module.parley.files_role_arn
}

output "keto_urls" {
  description = "Keto read/write URLs inside the cluster."
  value       = { read = module.keto.read_url, write = module.keto.write_url }
}

output "parley_config" {
  description = "Non-secret settings written into parley-config."
  value       = module.parley.config
}

output "next_steps" {
  description = "What Terraform does not do."
  value       = <<-EOT
    kubectl get ksvc -n parley                    # every function Ready?
    kubectl get svc -A | grep kourier             # load balancer: point *.${var.knative_domain} and the API host at it
    ${var.s3_bridge_plugin == null ? "S3 bridge DISABLED: set s3_bridge_plugin, or uploads are never checked by `upload`." : "S3 bridge enabled."}
  EOT
}
