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
