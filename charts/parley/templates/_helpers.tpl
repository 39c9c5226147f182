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

{{/* ServiceAccount name of every function and the edge ("" = the namespace's default). */}}
{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default "parley" .Values.serviceAccount.name }}
{{- else -}}
{{ .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* Volume mounts shared by functions and the edge: access rules and the managed services' CAs. */}}
{{- define "parley.volumeMounts" -}}
- name: rules
  mountPath: /etc/parley/rules
  readOnly: true
{{- range $svc := list "kafka" "redis" "postgres" }}
{{- if (index $.Values.managedServices $svc).caConfigMap }}
- name: {{ $svc }}-ca
  mountPath: /etc/parley/tls/{{ $svc }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "parley.volumes" -}}
- name: rules
  configMap:
    name: parley-rules
{{- range $svc := list "kafka" "redis" "postgres" }}
{{- with (index $.Values.managedServices $svc).caConfigMap }}
- name: {{ $svc }}-ca
  configMap:
    name: {{ . }}
    items:
      - key: ca.pem
        path: ca.pem
{{- end }}
{{- end }}
{{- end -}}

{{/* A values route "[METHOD ]PATH" as a Gateway API HTTPRouteMatch. PATH ending in "/" and plain
     PATHs are path prefixes (Gateway API prefixes match whole segments, as the local gateway does);
     "*" (one segment) needs a regular expression. A GET route also gets a HEAD match: the local
     gateway lets GET routes take HEAD, Gateway API matches methods exactly. */}}
{{- define "parley.routeMatch" -}}
{{- $parts := splitList " " . -}}
{{- $methods := list "" -}}
{{- $path := . -}}
{{- if eq (len $parts) 2 -}}
{{- $methods = list (index $parts 0) -}}
{{- $path = index $parts 1 -}}
{{- end -}}
{{- if has "GET" $methods -}}
{{- $methods = append $methods "HEAD" -}}
{{- end -}}
{{- range $i, $method := $methods }}
{{- if $i }}
{{ end -}}
- path:
{{- if contains "*" $path }}
    type: RegularExpression
    value: {{ printf "^%s(/.*)?$" (replace "*" "[^/]+" (trimSuffix "/" $path)) | quote }}
{{- else }}
    type: PathPrefix
    value: {{ trimSuffix "/" $path | default "/" | quote }}
{{- end }}
{{- with $method }}
  method: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Seconds in a Go duration string of whole seconds or minutes ("30s", "2m"). */}}
{{- define "parley.seconds" -}}
{{- if hasSuffix "m" . -}}{{ mul (trimSuffix "m" .) 60 }}{{- else -}}{{ trimSuffix "s" . }}{{- end -}}
{{- end -}}

{{/* Scaling behaviour of the edge: up fast (a connection storm after a deploy or an outage), down
     slowly, one pod at a time (each scale-down drains and reconnects that pod's clients). */}}
{{- define "parley.edgeScaleBehavior" -}}
scaleUp:
  stabilizationWindowSeconds: 0
  policies:
    - type: Percent
      value: 100
      periodSeconds: 30
scaleDown:
  stabilizationWindowSeconds: 300
  policies:
    - type: Pods
      value: 1
      periodSeconds: 120
{{- end -}}
