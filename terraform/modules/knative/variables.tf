variable "operator_chart_version" {
  description = "Version of the knative-operator Helm chart (https://knative.github.io/operator). The operator release bounds which Serving/Eventing versions it can install."
  type        = string
  default     = "v1.16.0"
}

variable "serving_version" {
  description = "Knative Serving version the operator installs (\"major.minor\")."
  type        = string
  default     = "1.16"
  validation {
    condition     = can(regex("^1\\.[0-9]+(\\.[0-9]+)?$", var.serving_version))
    error_message = "serving_version looks like 1.16 or 1.16.0."
  }
}

variable "eventing_version" {
  description = "Knative Eventing version the operator installs (\"major.minor\")."
  type        = string
  default     = "1.16"
  validation {
    condition     = can(regex("^1\\.[0-9]+(\\.[0-9]+)?$", var.eventing_version))
    error_message = "eventing_version looks like 1.16 or 1.16.0."
  }
}

variable "kafka_broker_version" {
  description = "eventing-kafka-broker release (its manifests are fetched from GitHub release knative-v<version>). Keep its minor equal to eventing_version."
  type        = string
  default     = "1.16.0"
  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.kafka_broker_version))
    error_message = "kafka_broker_version looks like 1.16.0."
  }
}

variable "domain" {
  description = "Domain of Knative Services' URLs (<service>.<namespace>.<domain>). Point a wildcard DNS record at the Kourier load balancer."
  type        = string
}

variable "kubectl_image" {
  description = "Image with kubectl and a POSIX shell for the readiness-wait hook Job."
  type        = string
  default     = "alpine/k8s:1.31.4"
}
