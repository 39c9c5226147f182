output "files_role_arn" {
  description = "IAM role the pods assume for S3 (IRSA), or null with static keys."
  value       = var.s3_auth_mode == "irsa" ? aws_iam_role.files[0].arn : null
}

output "secret_name" {
  description = "The Kubernetes Secret the chart reads (values.yaml secrets.name)."
  value       = kubernetes_secret_v1.parley.metadata[0].name
}

output "database_url" {
  description = "DATABASE_URL of the application role."
  value       = kubernetes_secret_v1.parley.data["DATABASE_URL"]
  sensitive   = true
}

output "config" {
  description = "The non-secret values written into parley-config through the chart's `env`."
  value       = local.env
}

output "s3_bridge_connector_arn" {
  description = "MSK Connect connector ARN of the S3 bridge, or null when disabled."
  value       = var.s3_bridge.enabled ? aws_mskconnect_connector.s3_events[0].arn : null
}
