#!/usr/bin/env bash
# Regenerates deploy/schemas/*.json, the offline schemas `make deploy-check` validates the rendered
# chart against with kubeconform -strict. Run from anywhere:
#
#   EVENTING_GIT=<git dir of a knative/eventing clone> \
#   KAFKA_BROKER_GIT=<git dir of a knative-extensions/eventing-kafka-broker clone> \
#   deploy/schemas/generate.sh
#
# Inputs, at the versions terraform/ installs (terraform/stack/variables.tf: Knative 1.16) or the
# chart targets:
#   - built-in kinds, from OpenAPI documents Kubernetes modules ship as test data (Go module proxy):
#     Deployment and HorizontalPodAutoscaler from k8s.io/kubectl v0.37.0 testdata/openapi/v3
#     (apps/v1, autoscaling/v2: recent enough for a container's preStop `sleep` action, 1.30+,
#     the chart's kubeVersion floor); every other built-in kind from the Kubernetes v1.27.0
#     OpenAPI v2 document in k8s.io/kube-openapi pkg/schemaconv/testdata/swagger.json and from
#     kubectl's api/v1 (v1.27.0). Older than the floor: a field they accept exists on every
#     cluster the chart allows;
#   - Knative Serving's Service: knative.dev/serving v0.43.0 (= knative-v1.16.0), module proxy;
#   - Knative Eventing's Broker, Trigger, PingSource: knative/eventing tag knative-v1.16.0 (not on
#     the module proxy: from a clone);
#   - KafkaSink, KafkaSource: knative-extensions/eventing-kafka-broker tag knative-v1.16.0 (a clone);
#   - Gateway API HTTPRoute, ReferenceGrant: sigs.k8s.io/gateway-api v1.2.1 (standard channel), module proxy;
#   - ServiceMonitor, PodMonitor, PrometheusRule: prometheus-operator v0.79.2, module proxy;
#   - KEDA ScaledObject: github.com/kedacore/keda/v2 v2.16.1, module proxy.
# Only the generated JSON is committed, never the inputs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${EVENTING_GIT:?set EVENTING_GIT to the git dir of a knative/eventing clone}"
: "${KAFKA_BROKER_GIT:?set KAFKA_BROKER_GIT to the git dir of a knative-extensions/eventing-kafka-broker clone}"
KNATIVE_TAG=knative-v1.16.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Module directories from the proxy (a throwaway module, so nothing of ours changes).
(cd "$tmp" && go mod init schemas.tmp >/dev/null 2>&1)
moddir() { (cd "$tmp" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
openapi=$(moddir k8s.io/kube-openapi@v0.0.0-20260721132016-d427ff9ee9ad)
kubectl=$(moddir k8s.io/kubectl@v0.37.0)
serving=$(moddir knative.dev/serving@v0.43.0)
gateway=$(moddir sigs.k8s.io/gateway-api@v1.2.1)
promop=$(moddir github.com/prometheus-operator/prometheus-operator@v0.79.2)
keda=$(moddir github.com/kedacore/keda/v2@v2.16.1)

mkdir -p "$tmp/crd"
for f in broker trigger pingsource; do
	git --git-dir="$EVENTING_GIT" show "$KNATIVE_TAG:config/core/resources/$f.yaml" >"$tmp/crd/$f.yaml"
done
base=control-plane/config/eventing-kafka-broker
git --git-dir="$KAFKA_BROKER_GIT" show "$KNATIVE_TAG:$base/100-sink/100-kafka-sink.yaml" >"$tmp/crd/kafkasink.yaml"
git --git-dir="$KAFKA_BROKER_GIT" show "$KNATIVE_TAG:$base/100-source/100-kafka-source.yaml" >"$tmp/crd/kafkasource.yaml"

v3=$kubectl/testdata/openapi/v3
core=io.k8s.api.core.v1.ConfigMap,io.k8s.api.core.v1.Secret,io.k8s.api.core.v1.Service,io.k8s.api.core.v1.ServiceAccount
v127=io.k8s.api.batch.v1.Job,io.k8s.api.policy.v1.PodDisruptionBudget
v127+=,io.k8s.api.networking.v1.NetworkPolicy,io.k8s.api.networking.v1.Ingress

rm -f "$here"/*.json
cd "$root/deploy"
go run ./crdschema -out "$here" \
	-k8s "$v3/apis/apps/v1.json=io.k8s.api.apps.v1.Deployment" \
	-k8s "$v3/apis/autoscaling/v2.json=io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler" \
	-k8s "$v3/api/v1.json=$core" \
	-k8s "$openapi/pkg/schemaconv/testdata/swagger.json=$v127" \
	"$serving/config/core/300-resources/service.yaml" \
	"$tmp"/crd/*.yaml \
	"$gateway"/config/crd/standard/gateway.networking.k8s.io_{httproutes,referencegrants}.yaml \
	"$promop"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,podmonitors,prometheusrules}.yaml \
	"$keda/config/crd/bases/keda.sh_scaledobjects.yaml"
