# Knative Serving + Eventing + eventing-kafka-broker, through the Knative Operator's Helm chart and a
# small local chart (./chart) holding the operator's custom resources. A local chart rather than
# kubernetes_manifest: the latter needs the CRDs at plan time, which do not exist on a fresh cluster.

resource "kubernetes_namespace_v1" "this" {
  for_each = toset(["knative-serving", "knative-eventing"])
  metadata {
    name = each.value
  }
}

resource "helm_release" "operator" {
  name             = "knative-operator"
  repository       = "https://knative.github.io/operator"
  chart            = "knative-operator"
  version          = var.operator_chart_version
  namespace        = "knative-operator"
  create_namespace = true
  wait             = true
  timeout          = 600
}

resource "helm_release" "components" {
  name      = "parley-knative"
  chart     = "${path.module}/chart"
  namespace = kubernetes_namespace_v1.this["knative-eventing"].metadata[0].name
  wait      = true
  # The post-install hook waits up to 30 minutes for Serving, Eventing and the Kafka data plane.
  timeout = 1800

  values = [yamlencode({
    servingVersion     = var.serving_version
    eventingVersion    = var.eventing_version
    kafkaBrokerVersion = var.kafka_broker_version
    domain             = var.domain
    kubectlImage       = var.kubectl_image
  })]

  depends_on = [helm_release.operator, kubernetes_namespace_v1.this]
}
