// A worker's own HTTP port: /healthz for liveness (200 while the process runs), /readyz for readiness (200 while the
// worker polls its task queue and PostgreSQL answers, else 503 naming what it waits for) and /metrics for Prometheus — the worker's own metrics from prom-client followed by the SDK runtime's, which
// the runtime serves on a loopback port of its own (see run.ts) and this server passes on.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerStatus } from '@temporalio/worker';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface WorkerHealthOptions {
  /** 0 lets the OS choose; `port` on the result says which. */
  port: number;
  /**
   * When `port` is taken, serve on one the OS chooses instead of failing: for a default port, which two workers of
   * a kind on one host (local runs, tests) would both want. A port the operator set should fail loudly instead.
   */
  fallBackWhenInUse?: boolean;
  host?: string;
  /** The worker's status; undefined until the worker exists. */
  status: () => WorkerStatus | undefined;
  /** What the process waits for, e.g. `temporal (connection refused)`; empty while everything answers. */
  waitingFor?: () => string[];
  /** Labels on every metric of the worker's own, e.g. the task queue. */
  labels: Record<string, string>;
  /** The SDK runtime's Prometheus endpoint, appended to /metrics; unset when the runtime exports none. */
  runtimeMetricsUrl?: string;
}

export interface WorkerHealthServer {
  port: number;
  /** True when `port` was taken and the server fell back to another. */
  fellBack: boolean;
  close(): Promise<void>;
}

/** Ready means polling: a worker that is connecting, draining or failed takes no tasks. */
export function isPolling(status: WorkerStatus | undefined): boolean {
  return (
    status?.runState === 'RUNNING' && status.workflowPollerState !== 'FAILED' && status.activityPollerState !== 'FAILED'
  );
}

/** The worker's own metrics, read from its status at each scrape, beside Node's process metrics. */
export function createWorkerRegistry(status: () => WorkerStatus | undefined, labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: (current: WorkerStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const current = status();
        this.set(current ? read(current) : 0);
      },
    });
  gauge('order_system_worker_polling', '1 while the worker polls its task queue (what /readyz requires)', (current) =>
    isPolling(current) ? 1 : 0,
  );
  gauge(
    'order_system_worker_in_flight_activities',
    'Activities running now, local ones included',
    (current) => current.numInFlightActivities,
  );
  gauge(
    'order_system_worker_in_flight_workflow_activations',
    'Workflow activations being processed now',
    (current) => current.numInFlightWorkflowActivations,
  );
  gauge(
    'order_system_worker_cached_workflows',
    'Workflows held in the sticky cache (bounded by WORKER_WORKFLOW_CACHE_SIZE)',
    (current) => current.numCachedWorkflows,
  );
  gauge(
    'order_system_worker_heartbeating_activities',
    'Running activities that have heartbeated',
    (current) => current.numHeartbeatingActivities,
  );
  return registry;
}

export async function startWorkerHealthServer(opts: WorkerHealthOptions): Promise<WorkerHealthServer> {
  const registry = createWorkerRegistry(opts.status, opts.labels);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ok', state: opts.status()?.runState ?? 'starting' }));
    } else if (path === '/readyz') {
      const body = readiness(opts);
      res
        .writeHead(body.status === 'ready' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(body));
    } else if (path === '/metrics') {
      metricsText(registry, opts.runtimeMetricsUrl).then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(`metrics failed: ${String(error)}\n`),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  let fellBack = false;
  try {
    await listen(server, opts.port, opts.host);
  } catch (error) {
    if (!opts.fallBackWhenInUse || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await listen(server, 0, opts.host);
    fellBack = true;
  }
  return {
    port: (server.address() as AddressInfo).port,
    fellBack,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface Readiness {
  status: 'ready' | 'not ready';
  state: string;
  /** What the worker waits for, each with its reason. */
  waitingFor: string[];
}

function readiness(opts: WorkerHealthOptions): Readiness {
  const waitingFor = [...(opts.waitingFor?.() ?? [])];
  const status = opts.status();
  const state = status?.runState ?? 'starting';
  if (!waitingFor.some((entry) => entry.startsWith('temporal')) && !isPolling(status))
    waitingFor.push(`temporal (worker ${state})`);
  return { status: waitingFor.length === 0 ? 'ready' : 'not ready', state, waitingFor };
}

async function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  server.listen(port, host);
  await once(server, 'listening');
}

async function metricsText(registry: Registry, runtimeMetricsUrl: string | undefined): Promise<string> {
  const own = await registry.metrics();
  if (!runtimeMetricsUrl) return own;
  // A runtime that has not answered yet leaves its part out rather than failing the whole scrape.
  const runtime = await fetch(runtimeMetricsUrl, { signal: AbortSignal.timeout(2_000) }).then(
    (res) => (res.ok ? res.text() : ''),
    () => '',
  );
  return runtime ? `${own}\n${runtime}` : own;
}
