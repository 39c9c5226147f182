output "ready" {
  description = "Changes when Knative is (re)installed; depend on it before creating Knative objects."
  value       = helm_release.components.id
}

output "broker_ingress_host" {
  description = "In-cluster host of the Kafka Broker ingress (the chart derives BROKER_URL from it)."
  value       = "kafka-broker-ingress.knative-eventing.svc.cluster.local"
}

output "domain" {
  description = "Knative Serving domain."
  value       = var.domain
}
