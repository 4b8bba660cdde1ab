// Tracing as the API and the workers wire it (src/telemetry.ts): a workflow start, the workflow run and its activity
// are spans of one trace, each a descendant of the one before; and with no endpoint nothing is set up at all.
import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startTracing, type Tracing } from '../../src/telemetry';
import { createDevServerEnv } from '../support/temporal-env';
import { eventually } from '../../dev/support/poll';
import { tracedWorkflow } from './fixtures/traced-workflow';

let env: TestWorkflowEnvironment;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  env = await createDevServerEnv();
  tracing = startTracing('tracing-test', { exporter })!;
});

afterAll(async () => {
  await tracing?.shutdown();
  await env?.teardown();
});

/** The chain of spans from `span` up to its trace's root. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const chain: string[] = [];
  for (let s: ReadableSpan | undefined = span; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) {
    chain.push(s.name);
  }
  return chain;
}

it('is off without an OTLP endpoint', () => {
  expect(startTracing('api', {})).toBeUndefined();
});

it('links the workflow start, the workflow run and its activity in one trace', async () => {
  const address = env.connection.options.address;
  const taskQueue = `tracing-${randomUUID()}`;
  const workerConnection = await NativeConnection.connect({ address, plugins: [tracing.plugin] });
  const clientConnection = await Connection.connect({ address, plugins: [tracing.plugin] });
  try {
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowsPath: require.resolve('./fixtures/traced-workflow'),
      activities: { recordGreeting: async (name: string) => `hello ${name}` },
    });
    const client = new Client({ connection: clientConnection });
    const result = await worker.runUntil(
      client.workflow.execute(tracedWorkflow, { taskQueue, workflowId: `traced-${randomUUID()}`, args: ['c-42'] }),
    );
    expect(result).toBe('hello c-42');

    const activity = await eventually('the activity span', () =>
      exporter.getFinishedSpans().find((s) => s.name === 'RunActivity:recordGreeting'),
    );
    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([activity.spanContext().traceId]));
    expect(ancestry(activity, spans)).toEqual([
      'RunActivity:recordGreeting',
      'StartActivity:recordGreeting',
      'RunWorkflow:tracedWorkflow',
      'StartWorkflow:tracedWorkflow',
    ]);
  } finally {
    await Promise.all([workerConnection.close(), clientConnection.close()]);
  }
});
