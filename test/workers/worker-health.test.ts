// The workers' own port: /healthz says the process lives, /readyz whether the worker polls and what it waits for,
// /metrics serves its metrics and the SDK's.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerStatus } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startService, type ServiceProcess } from '../../dev/tools/service-process';
import { createDevServerEnv } from '../support/temporal-env';
import { startWorkerHealthServer, type WorkerHealthServer } from '../../src/workers/health-server';
import { eventually } from '../../dev/support/poll';
import { freePort } from '../../dev/tools/net';

function statusIn(runState: WorkerStatus['runState']): WorkerStatus {
  return {
    runState,
    workflowPollerState: 'POLLING',
    activityPollerState: 'POLLING',
    hasOutstandingWorkflowPoll: true,
    hasOutstandingActivityPoll: true,
    numInFlightWorkflowActivations: 0,
    numInFlightActivities: 2,
    numInFlightNonLocalActivities: 2,
    numInFlightLocalActivities: 0,
    numCachedWorkflows: 7,
    numHeartbeatingActivities: 0,
  };
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

describe('worker health server', () => {
  let runtime: Server;
  let runtimeUrl: string;
  const servers: WorkerHealthServer[] = [];

  beforeAll(async () => {
    // Stands in for the SDK runtime's Prometheus endpoint.
    runtime = createServer((_req, res) => res.end('# TYPE temporal_worker_task_slots_available gauge\n'));
    runtime.listen(0, '127.0.0.1');
    await once(runtime, 'listening');
    runtimeUrl = `http://127.0.0.1:${(runtime.address() as AddressInfo).port}/metrics`;
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    runtime.closeAllConnections();
    await new Promise((resolve) => runtime.close(resolve));
  });

  async function serve(
    status: () => WorkerStatus | undefined,
    port = 0,
    fallBackWhenInUse = false,
    waitingFor: () => string[] = () => [],
  ) {
    const server = await startWorkerHealthServer({
      port,
      fallBackWhenInUse,
      host: '127.0.0.1',
      status,
      waitingFor,
      labels: { worker: 'test-worker' },
      runtimeMetricsUrl: runtimeUrl,
    });
    servers.push(server);
    return server;
  }

  it('is live throughout; ready only while the worker polls, 503 naming what it waits for before and after', async () => {
    let status: WorkerStatus | undefined;
    let waiting = ['temporal (connection refused)'];
    const { port } = await serve(
      () => status,
      0,
      false,
      () => waiting,
    );
    const readiness = async () => {
      const { status: code, text } = await get(port, '/readyz');
      return { code, body: JSON.parse(text) as { status: string; waitingFor: string[] } };
    };
    expect(await get(port, '/healthz')).toEqual({ status: 200, text: expect.stringContaining('starting') });
    expect(await readiness()).toEqual({
      code: 503,
      body: expect.objectContaining({ status: 'not ready', waitingFor: ['temporal (connection refused)'] }),
    });
    waiting = [];
    status = statusIn('INITIALIZED');
    expect((await readiness()).body.waitingFor).toEqual(['temporal (worker INITIALIZED)']);
    status = statusIn('RUNNING');
    expect(await readiness()).toEqual({
      code: 200,
      body: expect.objectContaining({ status: 'ready', waitingFor: [] }),
    });
    waiting = ['postgres (connection refused)'];
    expect(await readiness()).toEqual({
      code: 503,
      body: expect.objectContaining({ waitingFor: ['postgres (connection refused)'] }),
    });
    waiting = [];
    status = { ...statusIn('RUNNING'), activityPollerState: 'FAILED' };
    expect((await readiness()).code).toBe(503);
    status = statusIn('DRAINING');
    expect((await readiness()).code).toBe(503);
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it("serves the worker's own metrics followed by the SDK runtime's", async () => {
    const { port } = await serve(() => statusIn('RUNNING'));
    const { status, text } = await get(port, '/metrics');
    expect(status).toBe(200);
    expect(text).toContain('order_system_worker_polling{worker="test-worker"} 1');
    expect(text).toContain('order_system_worker_in_flight_activities{worker="test-worker"} 2');
    expect(text).toContain('order_system_worker_cached_workflows{worker="test-worker"} 7');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('# TYPE temporal_worker_task_slots_available gauge');
  });

  it('falls back to a free port when a default port is taken, and fails when a configured one is', async () => {
    const taken = await serve(() => undefined);
    const fallback = await serve(() => undefined, taken.port, true);
    expect(fallback.fellBack).toBe(true);
    expect(fallback.port).not.toBe(taken.port);
    await expect(serve(() => undefined, taken.port, false)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('WORKER_HEALTH_PORT', () => {
  it('is a port number, unset by default so that each worker takes its own', () => {
    expect(loadConfig({}).WORKER_HEALTH_PORT).toBeUndefined();
    expect(loadConfig({ WORKER_HEALTH_PORT: '9470' }).WORKER_HEALTH_PORT).toBe(9470);
    expect(() => loadConfig({ WORKER_HEALTH_PORT: '70000' })).toThrow(/WORKER_HEALTH_PORT/);
    expect(() => loadConfig({ WORKER_HEALTH_PORT: 'metrics' })).toThrow(/WORKER_HEALTH_PORT/);
  });
});

describe('payments worker process', () => {
  let env: TestWorkflowEnvironment;
  let worker: ServiceProcess | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
  });

  afterAll(async () => {
    await worker?.stop();
    await env?.teardown();
  });

  const startWorker = (script: string, healthPort: number) =>
    startService({
      name: 'payments-worker',
      script,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: env.namespace ?? 'default',
        // Only `select 1`: no activity runs.
        DATABASE_URL: process.env.TEST_DATABASE_ADMIN_URL,
        WORKER_HEALTH_PORT: String(healthPort),
        LOG_LEVEL: 'info',
      },
      onLine: (line) => output.push(line),
    });

  it('reports ready once it polls, with SDK runtime metrics on the same port, and stops on SIGTERM', async () => {
    const healthPort = await freePort();
    worker = startWorker('src/workers/payments/main.ts', healthPort);
    const healthy = await eventually(
      'the worker to report ready',
      async () => ((await get(healthPort, '/readyz')).status === 200 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker output:\n${output.join('\n')}`);
    });
    expect(healthy).toBe(true);

    const metrics = await eventually(
      'SDK runtime metrics on the worker port',
      async () => {
        const { text } = await get(healthPort, '/metrics');
        return /^temporal_\w+/m.test(text) ? text : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(metrics).toContain('order_system_worker_polling{worker="payments-worker"} 1');
    expect(metrics).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="payments".*\} \d+/m);

    expect(await worker.stop(30_000)).toBe(0);
  });

  it('stops cleanly on a SIGTERM that comes while its worker is still being made', async () => {
    output.length = 0;
    worker = startWorker('test/workers/fixtures/worker-made-after-stop.ts', await freePort());
    await eventually('the worker to be made', () => output.some((l) => l.includes('worker made')) || undefined, {
      timeoutMs: 60_000,
      intervalMs: 100,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker output:\n${output.join('\n')}`);
    });

    const code = await worker.stop(30_000);

    expect({ code, failures: output.filter((l) => /failed|IllegalStateError/.test(l)) }).toEqual({
      code: 0,
      failures: [],
    });
  });
});
