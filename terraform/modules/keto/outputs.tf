output "read_url" {
  description = "Keto read API inside the cluster (KETO_READ_URL)."
  value       = "http://keto-read.${var.namespace}.svc:80"
  depends_on  = [helm_release.keto]
}

output "write_url" {
  description = "Keto write API inside the cluster (KETO_WRITE_URL)."
  value       = "http://keto-write.${var.namespace}.svc:80"
  depends_on  = [helm_release.keto]
}

output "dsn" {
  description = "Keto's PostgreSQL DSN."
  value       = local.dsn
  sensitive   = true
}
