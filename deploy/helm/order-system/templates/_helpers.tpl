{{/* Names and labels shared by every template. */}}

{{- define "order-system.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "order-system.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's name: fullname-component, kept within the 63 characters of a DNS label. */}}
{{- define "order-system.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "order-system.fullname" $root | trunc 40 | trimSuffix "-") (index . 1) }}
{{- end }}

{{- define "order-system.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "order-system.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "order-system.labels" -}}
{{- $root := index . 0 -}}
{{ include "order-system.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: order-system
{{- end }}

{{- define "order-system.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "order-system.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "order-system.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The environment of every process: the ConfigMap, then the Secrets and settings a ConfigMap must not hold. */}}
{{- define "order-system.env" -}}
{{ include "order-system.secretEnv" . }}
{{- include "order-system.temporalAuthEnv" . }}
{{- include "order-system.extraEnv" . }}
{{- end }}

{{/* The payload keys and the database URL, from their Secrets. */}}
{{- define "order-system.secretEnv" -}}
- name: PAYLOAD_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ required "payloadKeys.existingSecret names the Secret holding the payload encryption keys" .Values.payloadKeys.existingSecret }}
      key: {{ .Values.payloadKeys.secretKey }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret names the Secret holding the PostgreSQL URL" .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- end }}

{{/* How a process authenticates to Temporal: the API key, TLS and its files (mounted by order-system.volumes). */}}
{{- define "order-system.temporalAuthEnv" -}}
{{- with .Values.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.temporal.apiKey.secretKey }}
{{- end }}
{{- with .Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- if .existingSecret }}
{{- if .serverCaCertKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/temporal-tls/{{ .serverCaCertKey }}
{{- end }}
{{- if .clientCertKey }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/temporal-tls/{{ .clientCertKey }}
{{- end }}
{{- if .clientKeyKey }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/temporal-tls/{{ .clientKeyKey }}
{{- end }}
{{- end }}
{{- with .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "order-system.extraEnv" -}}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "order-system.envFrom" -}}
- configMapRef:
    name: {{ include "order-system.fullname" . }}
{{- end }}

{{/* Volumes every pod mounts: a writable /tmp on a read-only root, and the Temporal TLS files if any. */}}
{{- define "order-system.volumes" -}}
{{ include "order-system.tmpVolume" . }}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret }}
{{- end }}
{{- end }}

{{- define "order-system.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{- define "order-system.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/temporal-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every workload. */}}
{{- define "order-system.podSpecCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod metadata; the ConfigMap's checksum rolls the pods when the configuration changes. */}}
{{- define "order-system.podMetadata" -}}
{{- $root := index . 0 -}}
labels:
  {{- include "order-system.labels" . | nindent 2 }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
  {{- with $root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Spreads a component's pods over nodes, when topologySpreadConstraints are given; each selects the component. */}}
{{- define "order-system.topologySpread" -}}
{{- $root := index . 0 -}}
{{- $selector := dict "matchLabels" (include "order-system.selectorLabels" . | fromYaml) }}
{{- with $root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
  - {{ toYaml (merge (dict "labelSelector" $selector) .) | nindent 4 | trim }}
{{- end }}
{{- end }}
{{- end }}
