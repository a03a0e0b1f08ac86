{{/*
Names and labels. Helpers that concern one service take a dict:
  (dict "root" $ "name" $name)        -- $ is the chart root, $name the services key
*/}}

{{/* The chart's name, overridable. */}}
{{- define "park-os.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's full name: the release name, prefixed to the chart name unless it
already contains it (so `helm install park-os` gives "park-os", not "park-os-park-os").
Truncated to 63 characters, the limit of a DNS label.
*/}}
{{- define "park-os.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of one service's objects (Deployment, Service, HPA, ...): "<fullname>-<service>". */}}
{{- define "park-os.componentName" -}}
{{- printf "%s-%s" (include "park-os.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* chart label value: name-version */}}
{{- define "park-os.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one service's pods. Never change them: selectors are immutable. */}}
{{- define "park-os.selectorLabels" -}}
app.kubernetes.io/name: {{ include "park-os.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Every label of one service's objects. */}}
{{- define "park-os.labels" -}}
{{ include "park-os.selectorLabels" . }}
{{ include "park-os.commonLabels" .root }}
{{- end -}}

{{/* Labels of every object of the release, shared or per service. */}}
{{- define "park-os.commonLabels" -}}
helm.sh/chart: {{ include "park-os.chart" . }}
app.kubernetes.io/part-of: park-os
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of the release's shared objects (ConfigMap, ServiceAccount). */}}
{{- define "park-os.sharedLabels" -}}
app.kubernetes.io/name: {{ include "park-os.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "park-os.commonLabels" . }}
{{- end -}}

{{/* The ServiceAccount every pod runs as. */}}
{{- define "park-os.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "park-os.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One service's image: its own image.repository/tag if set, else the shared one. */}}
{{- define "park-os.image" -}}
{{- $own := .service.image | default dict -}}
{{- $repository := $own.repository | default .root.Values.image.repository -}}
{{- $tag := $own.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{/*
What a probe checks, for one service: (dict "root" $ "service" $svc "grpcService" "...")
- a gRPC server: grpc.health.v1 on its gRPC port, or on the plaintext health port when
  TLS is on (kubelet's gRPC probes cannot do TLS);
- a process with no gRPC server (the Faust worker): GET /metrics.
*/}}
{{- define "park-os.probeAction" -}}
{{- if .service.grpcPort -}}
grpc:
  port: {{ if .root.Values.tls.enabled }}{{ .root.Values.tls.healthPort }}{{ else }}{{ .service.grpcPort }}{{ end }}
  {{- if .grpcService }}
  service: {{ .grpcService | quote }}
  {{- end }}
{{- else -}}
httpGet:
  path: /metrics
  port: metrics
{{- end -}}
{{- end -}}
