{{/* Common labels. */}}
{{- define "parley.labels" -}}
app.kubernetes.io/part-of: parley
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* Image of a component: registry/name:tag. Call with (list $ "name"). */}}
{{- define "parley.image" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{ $root.Values.image.registry }}/{{ $name }}:{{ $root.Values.image.tag }}
{{- end -}}

{{/* A Knative DeliverySpec from a values delivery block. Call with (list $ .delivery). */}}
{{- define "parley.delivery" -}}
{{- $root := index . 0 -}}
{{- $d := index . 1 -}}
{{- if hasKey $d "retry" }}
retry: {{ $d.retry }}
{{- end }}
{{- with $d.backoffPolicy }}
backoffPolicy: {{ . }}
{{- end }}
{{- with $d.backoffDelay }}
backoffDelay: {{ . | quote }}
{{- end }}
{{- with $d.timeout }}
timeout: {{ . | quote }}
{{- end }}
{{- with $d.deadLetterSink }}
deadLetterSink:
  ref:
    apiVersion: eventing.knative.dev/v1alpha1
    kind: KafkaSink
    name: {{ . }}
    namespace: {{ $root.Values.namespace }}
{{- end }}
{{- end -}}

{{/* Reference to a function's Knative Service. Call with (list $ "name"). */}}
{{- define "parley.serviceRef" -}}
{{- $root := index . 0 -}}
ref:
  apiVersion: serving.knative.dev/v1
  kind: Service
  name: {{ index . 1 }}
  namespace: {{ $root.Values.namespace }}
{{- end -}}
