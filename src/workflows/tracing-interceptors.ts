// Runs in the workflow sandbox (the interceptor module of every bundle, src/workers/orders/workflow-bundle.ts): the SDK's
// OpenTelemetry workflow interceptors, for the orders whose start carried a trace context. An order started by an
// untraced API (tracing off) never loads them. Each workflow in the sandbox evaluates its own copy of the
// OpenTelemetry modules, which is why only traced orders pay for them (cost measured in docs/decisions.md).
// Decided from the order's history, not from the worker's configuration, so that every worker and every replay
// runs the same sandbox: the interceptors draw span ids from the workflow's Math.random, which uuid4() shares.
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header the SDK's OpenTelemetry client interceptor starts a workflow with (`TRACE_HEADER` in its package). */
const TRACE_HEADER = '_tracer-data';

interface OpenTelemetryInterceptors {
  inbound: WorkflowInboundCallsInterceptor[];
  outbound: WorkflowOutboundCallsInterceptor[];
  internals: WorkflowInternalsInterceptor[];
}

function loadOpenTelemetryInterceptors(): OpenTelemetryInterceptors {
  // A require, not an import: evaluated only here, for a traced order (webpack bundles it either way). The one package
  // besides the SDK's workflow modules that sandbox code may load: the SDK's own workflow interceptors.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors') as {
    interceptors(): OpenTelemetryInterceptors;
  };
  return otel.interceptors();
}

type Method = (input: unknown, next: (input: unknown) => unknown) => unknown;

/** An interceptor whose every method goes to `target()`'s, or straight on while there is none. */
function delegating<T extends object>(target: () => T | undefined, methods: readonly (keyof T & string)[]): T {
  const entries = methods.map((name) => {
    const method: Method = (input, next) => {
      const to = target() as Record<string, Method | undefined> | undefined;
      const own = to?.[name];
      return own ? own.call(to, input, next) : next(input);
    };
    return [name, method];
  });
  return Object.fromEntries(entries) as T;
}

export const interceptors = (): WorkflowInterceptors => {
  let otel: OpenTelemetryInterceptors | undefined;
  const inbound = delegating<WorkflowInboundCallsInterceptor>(
    () => otel?.inbound[0],
    ['handleSignal', 'handleUpdate', 'validateUpdate', 'handleQuery'],
  );
  // The start comes first in a workflow's life, before any handler or outbound call, on every replay alike.
  inbound.execute = (input, next) => {
    if (input.headers[TRACE_HEADER] !== undefined) otel = loadOpenTelemetryInterceptors();
    return otel?.inbound[0].execute ? otel.inbound[0].execute(input, next) : next(input);
  };
  return {
    inbound: [inbound],
    outbound: [
      delegating<WorkflowOutboundCallsInterceptor>(
        () => otel?.outbound[0],
        [
          'scheduleActivity',
          'scheduleLocalActivity',
          'startTimer',
          'startNexusOperation',
          'startChildWorkflowExecution',
          'signalWorkflow',
          'continueAsNew',
          'getLogAttributes',
          'getMetricTags',
        ],
      ),
    ],
    internals: [
      delegating<WorkflowInternalsInterceptor>(() => otel?.internals[0], ['activate', 'concludeActivation', 'dispose']),
    ],
  };
};
