// Tracing in the image's shape: the orders worker loads a workflow bundle built ahead by scripts/build-workflow-bundle.ts
// (WORKFLOW_BUNDLE_PATH), beside the payments worker and the API, each its own process. With OTEL_EXPORTER_OTLP_ENDPOINT
// set, an order is one trace from the API's workflow start through the workflow's spans to both workers' activities;
// unset, the same bundle runs an order to its end and no process logs an error, whether the API traced the order (the
// workers drop its workflow spans) or not (nothing traces it). A worker that bundles at start gives the same trace.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { loadOrCreateSigningKey, signToken } from '../../src/api/auth-keys';
import { orderWorkflowId } from '../../src/domain';
import { EncryptionCodec, parsePayloadKeys } from '../../src/payload-codec';
import { discardedWorkflowSpans } from '../../src/telemetry';
import { startService, type ServiceProcess } from '../../dev/tools/service-process';
import { createDevServerEnv } from '../support/temporal-env';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../../dev/support/poll';
import { freePort } from '../../dev/tools/net';

const repoRoot = resolve(__dirname, '../..');

/** A span as the OTLP/JSON export carries it, with the service that exported it. */
interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] }[];
  }[];
}

/** Stands in for an OpenTelemetry collector: takes OTLP/HTTP JSON on /v1/traces and keeps every span. */
class Collector {
  readonly spans: ExportedSpan[] = [];
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests += 1;
      if (req.url === '/v1/traces') this.keep(JSON.parse(Buffer.concat(chunks).toString()) as OtlpJson);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private keep({ resourceSpans = [] }: OtlpJson): void {
    for (const { resource, scopeSpans = [] } of resourceSpans) {
      const service = resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      for (const { spans = [] } of scopeSpans) {
        for (const { name, traceId, spanId, parentSpanId } of spans) {
          this.spans.push({ service, name, traceId, spanId, parentSpanId: parentSpanId || undefined });
        }
      }
    }
  }
}

/** `service:name` from `span` up to its trace's root. */
function ancestry(span: ExportedSpan, spans: ExportedSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain: string[] = [];
  for (let s: ExportedSpan | undefined = span; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) {
    chain.push(`${s.service}:${s.name}`);
  }
  return chain;
}

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workDir: string;
let bundlePath: string;
let collector: Collector;
let collectorUrl: string;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'order-system-tracing-bundle-'));
  bundlePath = join(workDir, 'workflow-bundle.js');
  collector = new Collector();
  [env, database, collectorUrl] = await Promise.all([createDevServerEnv(), createTestDatabase(), collector.listen()]);
  // The script the Dockerfile runs, into a path of the test's own.
  await promisify(execFile)(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, 'scripts/build-workflow-bundle.ts', bundlePath],
    { cwd: repoRoot },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((service) => service.stop()));
  await collector?.close();
  await database?.drop();
  await env?.teardown();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Stack {
  apiUrl: string;
  output: Map<string, string[]>;
  /** SIGTERMs every process (each flushes its spans on the way out) and resolves with their exit codes. */
  stop(): Promise<(number | string)[]>;
}

interface StackOptions {
  /** Whether the workers trace to the collector. */
  traced: boolean;
  /** Whether the API does; by default as the workers. */
  apiTraced?: boolean;
  /** The orders worker bundles at start instead of loading the bundle built ahead. */
  bundleAtStart?: boolean;
}

/** The API and both workers as separate processes on free ports. */
async function startStack({ traced, apiTraced = traced, bundleAtStart = false }: StackOptions): Promise<Stack> {
  const base: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')),
  );
  const shared: NodeJS.ProcessEnv = {
    ...base,
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    DATABASE_URL: database.url,
    PAYLOAD_KEYS: `tracing-test:${payloadKey}`,
    AUTH_KEY_FILE: join(workDir, 'signing-key.json'),
    DELIVERY_DELAY_SECONDS: '1',
    LOG_LEVEL: 'info',
  };
  const tracing = (on: boolean) => (on ? { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl } : {});
  const [apiPort, ordersHealth, paymentsHealth] = await Promise.all([freePort(), freePort(), freePort()]);
  const output = new Map<string, string[]>();
  const start = (name: string, script: string, own: NodeJS.ProcessEnv) => {
    const lines: string[] = [];
    output.set(name, lines);
    const service = startService({ name, script, env: { ...shared, ...own }, onLine: (line) => lines.push(line) });
    running.push(service);
    return service;
  };
  const services = [
    start('orders-worker', 'src/workers/orders/main.ts', {
      ...(bundleAtStart ? {} : { WORKFLOW_BUNDLE_PATH: bundlePath }),
      WORKER_HEALTH_PORT: String(ordersHealth),
      ...tracing(traced),
    }),
    start('payments-worker', 'src/workers/payments/main.ts', {
      WORKER_HEALTH_PORT: String(paymentsHealth),
      ...tracing(traced),
    }),
    start('api', 'src/api/server.ts', { PORT: String(apiPort), ...tracing(apiTraced) }),
  ];
  const answers = async (url: string) => ((await fetch(url)).ok ? true : undefined);
  try {
    await Promise.all(
      [
        `http://127.0.0.1:${ordersHealth}/readyz`,
        `http://127.0.0.1:${paymentsHealth}/readyz`,
        `http://127.0.0.1:${apiPort}/readyz`,
      ].map((url) => eventually(`${url} to answer 200`, () => answers(url), { timeoutMs: 90_000, intervalMs: 200 })),
    );
  } catch (error) {
    throw new Error(`${String(error)}\n${outputOf(output)}`);
  }
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    output,
    stop: () => Promise.all(services.map((service) => service.stop(30_000))),
  };
}

const payloadKey = randomBytes(32).toString('base64');

function outputOf(output: Map<string, string[]>): string {
  return [...output].map(([name, lines]) => `--- ${name}\n${lines.join('\n')}`).join('\n');
}

/** Creates an order through the API and waits for it to be delivered; resolves with its id. */
async function deliverOrder(apiUrl: string): Promise<string> {
  const token = await signToken(await loadOrCreateSigningKey(join(workDir, 'signing-key.json')), {
    subject: 'c-42',
    role: 'customer',
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${apiUrl}/orders`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }], paymentToken: 'tok_approve' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  await eventually(
    `order ${id} to be delivered`,
    async () => {
      const order = (await (await fetch(`${apiUrl}/orders/${id}`, { headers })).json()) as { state: string };
      return order.state === 'delivered' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return id;
}

it.each([
  { bundle: 'the bundle built ahead', bundleAtStart: false },
  { bundle: 'a bundle made at start', bundleAtStart: true },
])(
  'exports one trace from the API through the workflow to both workers’ activities, on $bundle',
  async ({ bundleAtStart }) => {
    collector.spans.length = 0;
    const stack = await startStack({ traced: true, bundleAtStart });
    let id: string;
    try {
      id = await deliverOrder(stack.apiUrl);
    } finally {
      expect(await stack.stop()).toEqual([0, 0, 0]);
    }
    // The SDK logs "Workflow bundle created" only when it bundles; and warns when it ignores interceptor modules.
    const ordersOutput = stack.output.get('orders-worker')!.join('\n');
    expect(ordersOutput.includes('Workflow bundle created')).toBe(bundleAtStart);
    expect(ordersOutput).not.toContain('Ignoring WorkerOptions.interceptors.workflowModules');

    const payment = await eventually('the payment activity span', () =>
      collector.spans.find((s) => s.service === 'payments-worker' && s.name === 'RunActivity:processPayment'),
    );
    const trace = collector.spans.filter((s) => s.traceId === payment.traceId);
    // Once each: the interceptor module the SDK's plugin adds at start is the one the shared list names.
    expect(trace.filter((s) => s.name === 'RunWorkflow:orderWorkflow')).toHaveLength(1);
    expect(ancestry(payment, trace)).toEqual([
      'payments-worker:RunActivity:processPayment',
      'orders-worker:StartActivity:processPayment',
      'orders-worker:RunWorkflow:orderWorkflow',
      'api:StartWorkflow:orderWorkflow',
    ]);
    // The workflow's local activities (its writes to PostgreSQL) are in the same trace.
    expect(trace.map((s) => `${s.service}:${s.name}`)).toEqual(
      expect.arrayContaining([
        'orders-worker:StartActivity:recordOrderCreated',
        'orders-worker:RunActivity:recordOrderCreated',
        'orders-worker:StartActivity:recordTransition',
        'orders-worker:RunActivity:recordTransition',
      ]),
    );
    // The traced history replays on the bundle built ahead, the interceptors loaded again from the start's header.
    const workflowId = orderWorkflowId(id);
    const codec = new EncryptionCodec(parsePayloadKeys(`tracing-test:${payloadKey}`));
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: bundlePath },
        dataConverter: { payloadCodecs: [codec] },
        sinks: discardedWorkflowSpans,
      },
      await env.client.workflow.getHandle(workflowId).fetchHistory(),
      workflowId,
    );
  },
  240_000,
);

/** Error and fatal lines of pino's; a workflow span handed to an unregistered sink would be one per span. */
function errorLines(output: Map<string, string[]>): string[] {
  return [...output.values()].flat().filter((line) => /"level":(50|60)/.test(line));
}

it('runs an order to its end on the same bundle with tracing off, exporting nothing and logging no error', async () => {
  const requestsBefore = collector.requests;
  const stack = await startStack({ traced: false });
  try {
    await deliverOrder(stack.apiUrl);
  } finally {
    expect(await stack.stop()).toEqual([0, 0, 0]);
  }
  expect(collector.requests).toBe(requestsBefore);
  expect(errorLines(stack.output)).toEqual([]);
}, 240_000);

it('drops the workflow spans of an order a traced API started, when the workers do not trace, logging no error', async () => {
  collector.spans.length = 0;
  const stack = await startStack({ traced: false, apiTraced: true });
  try {
    await deliverOrder(stack.apiUrl);
  } finally {
    expect(await stack.stop()).toEqual([0, 0, 0]);
  }
  expect(collector.spans.map((s) => `${s.service}:${s.name}`)).toContain('api:StartWorkflow:orderWorkflow');
  expect(collector.spans.filter((s) => s.service !== 'api')).toEqual([]);
  expect(errorLines(stack.output)).toEqual([]);
  expect(outputOf(stack.output)).not.toContain('unregistered external sink');
}, 240_000);
