{{/* The two workers, as one list the worker templates range over: component name, values, entry point and own settings. */}}
{{- define "order-system.workers" -}}
- component: orders-worker
  key: orders
  entryPoint: src/workers/orders/main.ts
  env:
    WORKER_WORKFLOW_CACHE_SIZE: {{ .Values.orders.workflowCacheSize | quote }}
    WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: {{ .Values.orders.stickyQueueTimeoutSeconds | quote }}
- component: payments-worker
  key: payments
  entryPoint: src/workers/payments/main.ts
  env:
    PAYMENT_APPROVAL_RATE: {{ .Values.payments.approvalRate | quote }}
    PAYMENT_FAILURE_RATE: {{ .Values.payments.failureRate | quote }}
    PAYMENT_GATEWAY_DELAY_MS: {{ .Values.payments.gatewayDelayMs | quote }}
{{- end }}

{{/*
A worker's pod template: (list $ $worker $values $controllerConnects). With $controllerConnects the pods belong to
temporal-worker-controller's WorkerDeployment, which connects them to Temporal from its Connection (it sets the address,
namespace, API key, client certificate and server name, and mounts the certificate's Secret): the template then adds
only what the Connection cannot say, TLS without a client certificate and the server's CA in that Secret.
*/}}
{{- define "order-system.workerPodTemplate" -}}
{{- $root := index . 0 }}
{{- $worker := index . 1 }}
{{- $values := index . 2 }}
{{- $controllerConnects := index . 3 }}
{{- $tls := $root.Values.temporal.tls -}}
metadata:
  {{- include "order-system.podMetadata" (list $root $worker.component) | nindent 2 }}
spec:
  serviceAccountName: {{ include "order-system.serviceAccountName" $root }}
  {{- include "order-system.podSpecCommon" $root | nindent 2 }}
  {{- with include "order-system.topologySpread" (list $root $worker.component) }}
  {{- . | trim | nindent 2 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $root.Values.workers.terminationGracePeriodSeconds }}
  containers:
    - name: worker
      image: {{ include "order-system.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: ["node", "--import", "tsx", {{ $worker.entryPoint | quote }}]
      ports:
        - name: metrics
          containerPort: {{ $root.Values.workers.healthPort }}
          protocol: TCP
      envFrom:
        {{- include "order-system.envFrom" $root | nindent 8 }}
      env:
        - name: WORKER_HEALTH_PORT
          value: {{ $root.Values.workers.healthPort | quote }}
        {{- range $name, $value := $worker.env }}
        - name: {{ $name }}
          value: {{ $value | quote }}
        {{- end }}
        {{- if $controllerConnects }}
        {{- include "order-system.secretEnv" $root | nindent 8 }}
        {{- if and $tls.enabled (not (include "order-system.mutualTls" $root)) }}
        - name: TEMPORAL_TLS
          value: "true"
        {{- end }}
        {{- if and (include "order-system.mutualTls" $root) $tls.serverCaCertKey }}
        - name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
          value: /etc/temporal/tls/{{ $tls.serverCaCertKey }}
        {{- end }}
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- else }}
        {{- include "order-system.env" $root | nindent 8 }}
        {{- end }}
      # /healthz answers 200 while the process runs, also while it waits for Temporal or PostgreSQL (it retries
      # with backoff, so a restart would not help); /readyz answers 200 while it polls its task queue and 503
      # naming what it waits for otherwise, which holds back a rollout until the new pods work.
      startupProbe:
        httpGet: { path: /healthz, port: metrics }
        periodSeconds: 2
        failureThreshold: 60
      readinessProbe:
        httpGet: { path: /readyz, port: metrics }
        periodSeconds: 10
        timeoutSeconds: 3
      livenessProbe:
        httpGet: { path: /healthz, port: metrics }
        periodSeconds: 15
        timeoutSeconds: 5
        failureThreshold: 4
      resources:
        {{- toYaml $values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        {{- if $controllerConnects }}
        - name: tmp
          mountPath: /tmp
        {{- else }}
        {{- include "order-system.volumeMounts" $root | nindent 8 }}
        {{- end }}
  volumes:
    {{- if $controllerConnects }}
    {{- include "order-system.tmpVolume" $root | nindent 4 }}
    {{- else }}
    {{- include "order-system.volumes" $root | nindent 4 }}
    {{- end }}
{{- end }}

{{/* "true" when Temporal is reached with a client certificate (mTLS), else empty. */}}
{{- define "order-system.mutualTls" -}}
{{- $tls := .Values.temporal.tls }}
{{- if and $tls.enabled $tls.existingSecret $tls.clientCertKey $tls.clientKeyKey }}true{{ end }}
{{- end }}

{{/*
A worker's ScaledObject spec: (list $ $worker $values $perVersion). $perVersion: the spec of a WorkerResourceTemplate,
whose empty values the worker controller fills for each version: the versioned Deployment to scale, and the Temporal
namespace, Worker Deployment and build whose backlog the scaler counts.
*/}}
{{- define "order-system.scaledObjectSpec" -}}
{{- $root := index . 0 }}
{{- $worker := index . 1 }}
{{- $values := index . 2 }}
{{- $perVersion := index . 3 }}
{{- $keda := $root.Values.workers.keda }}
{{- $tls := $root.Values.temporal.tls }}
{{- $auth := or $root.Values.temporal.apiKey.existingSecret (and $tls.enabled $tls.existingSecret) -}}
{{ if $perVersion -}}
scaleTargetRef: {}
{{- else -}}
scaleTargetRef:
  apiVersion: apps/v1
  kind: Deployment
  name: {{ include "order-system.componentName" (list $root $worker.component) }}
{{- end }}
minReplicaCount: {{ $values.keda.minReplicaCount }}
maxReplicaCount: {{ $values.keda.maxReplicaCount }}
pollingInterval: {{ $keda.pollingInterval }}
cooldownPeriod: {{ $keda.cooldownPeriod }}
triggers:
  - type: temporal
    metadata:
      endpoint: {{ $root.Values.temporal.address | quote }}
      {{- if $perVersion }}
      namespace: ""
      workerDeploymentName: ""
      workerDeploymentBuildId: ""
      {{- else }}
      namespace: {{ $root.Values.temporal.namespace | quote }}
      {{- end }}
      taskQueue: {{ $values.taskQueue | quote }}
      targetQueueSize: {{ $keda.targetQueueSize | quote }}
      activationTargetQueueSize: {{ $keda.activationTargetQueueSize | quote }}
      {{- if $tls.enabled }}
      {{- with $tls.serverName }}
      tlsServerName: {{ . | quote }}
      {{- end }}
      {{- else }}
      # Plain gRPC, as the workers connect; with an API key the scaler would otherwise use TLS.
      enableTLS: "false"
      {{- end }}
    {{- if $auth }}
    authenticationRef:
      name: {{ include "order-system.componentName" (list $root "temporal") }}
    {{- end }}
{{- end }}
