#!/usr/bin/env bash
# make deploy-check: the chart linted and rendered with the pinned helm, every rendered object
# validated offline with kubeconform -strict against deploy/schemas (a kind without a schema fails),
# then the Go checks: published YAML, Terraform modules, metric names in alerts/dashboard, unknown
# keys where Knative's schemas keep unknown fields (deploy, over what this script rendered), kn
# commands in docs/deploy.md (infra/platform/routing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
GO=${GO:-go}
out=.data/deploy-check
rm -rf "$out" && mkdir -p "$out"
# helm keeps its caches and config under the work tree, never in the user's home.
export HELM_CACHE_HOME="$PWD/$out/helm/cache" HELM_CONFIG_HOME="$PWD/$out/helm/config" HELM_DATA_HOME="$PWD/$out/helm/data"

chart=charts/parley
declare -A values=([default]="" [production]="-f $chart/values-production.yaml")
for name in default production; do
	# shellcheck disable=SC2086 # the -f flag splits on purpose
	"$BIN/helm" lint --strict $chart ${values[$name]} --namespace parley >"$out/lint-$name.txt" 2>&1 || {
		cat "$out/lint-$name.txt"; echo "deploy-check: helm lint --strict ($name values) failed"; exit 1; }
	# shellcheck disable=SC2086
	"$BIN/helm" template parley $chart ${values[$name]} --namespace parley >"$out/$name.yaml"
	echo "deploy-check: $name values: lint clean, $(grep -c '^kind:' "$out/$name.yaml") objects rendered"
done

"$BIN/kubeconform" -strict -summary -output text \
	-schema-location 'deploy/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
	"$out/default.yaml" "$out/production.yaml"

"$GO" test -count=1 ./deploy/... ./infra/platform/routing/...
