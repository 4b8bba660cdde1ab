// OpenTelemetry traces of an order, API → workflow → activities, through the SDK's OpenTelemetry plugin (client,
// workflow and activity interceptors, and the sink that carries workflow spans out of the sandbox). Off unless an
// OTLP endpoint is configured: then no tracer or exporter is set up and nothing is intercepted outside the workflow
// sandbox, whose bundle always carries the workflow interceptors (src/workflows/tracing-interceptors.ts).
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { OpenTelemetryPlugin, type OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';

export interface Tracing {
  /** For the Temporal Connection/NativeConnection (clients and workers built from it inherit it). */
  plugin: OpenTelemetryPlugin;
  /** Flushes the spans still queued, then stops exporting. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to `<endpoint>/v1/traces` (OTLP/HTTP). */
  endpoint?: string;
  /** Instead of OTLP, e.g. an in-memory exporter in tests: every span handed over as it ends. */
  exporter?: SpanExporter;
}

/** `undefined` when tracing is off (no endpoint and no exporter given). */
export function startTracing(serviceName: string, { endpoint, exporter }: TracingOptions): Tracing | undefined {
  if (!endpoint && !exporter) return undefined;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName });
  const spanProcessor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL('v1/traces', withSlash(endpoint!)).toString() }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Global, with the async-hooks context manager: an HTTP request's span is the parent of the workflow start.
  provider.register();
  return {
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor }),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * The `exporter` sink of a worker that does not trace: the workflow interceptors hand it each finished span of an
 * order a traced API started, and unregistered the SDK would log an error for every call. When tracing is on, the
 * plugin's sink takes its place.
 */
export const discardedWorkflowSpans: InjectedSinks<OpenTelemetrySinks> = {
  exporter: { export: { fn: () => undefined } },
};

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
