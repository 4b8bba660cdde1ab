// Baselines measured in the same invocation: the same durable row insert straight into Postgres, an empty workflow
// started on the same Temporal server, and workflows of one activity each run by an in-process worker.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type InjectedSinks,
  type WorkflowBundle,
} from '@temporalio/worker';
import { createDb, type Db } from '../src/db/knex';
import { insertCreatedOrder } from '../src/activities/orders';
import { acceptedOrder } from '../src/domain';
import { closedLoop, type LoopResult } from './load';
import type { OpenLoopSubject } from './open-loop';
import { benchCustomer, orderBody } from './orders';
import type { BaselineActivities, BaselineSinks, emptyWorkflow, oneActivityWorkflow } from './workflows';

export const BASELINE_TASK_QUEUE = 'bench-baseline';

/** Connections of the insert baseline's pool at most: the stack's own pools share Postgres' 100 connections. */
const MAX_INSERT_POOL = 32;

export interface LoadLevel {
  concurrency: number;
  count: number;
  maxMs: number;
  onProgress?: (done: number) => void;
}

/** Built while the stack starts, so the worker itself starts at once. */
export async function bundleBaselineWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
}

/** The baseline workflows' worker, in this process, on its own task queue; knows when each workflow finished. */
export class BaselineWorker {
  private readonly running: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly connection: NativeConnection,
    /** Workflow id → when it finished, filled by the workflows' sink. */
    private readonly finished: Map<string, number>,
  ) {
    this.running = worker.run();
  }

  static async start(address: string, namespace: string, bundle: WorkflowBundle): Promise<BaselineWorker> {
    // The bench handles Ctrl-C itself (and stops the stack first); the SDK's logs would garble the progress line.
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    const connection = await NativeConnection.connect({ address });
    const finished = new Map<string, number>();
    const activities: BaselineActivities = { noop: async () => undefined };
    const sinks: InjectedSinks<BaselineSinks> = {
      baseline: {
        finished: {
          fn: (info) => {
            finished.set(info.workflowId, Date.now());
          },
          callDuringReplay: false,
        },
      },
    };
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: BASELINE_TASK_QUEUE,
      workflowBundle: bundle,
      activities,
      sinks,
    });
    return new BaselineWorker(worker, connection, finished);
  }

  /** Resolves with the time the last of `ids` finished, or undefined when `timeoutMs` passed first. */
  async lastFinished(ids: readonly string[], timeoutMs: number, onProgress?: (done: number) => void) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = ids.filter((id) => this.finished.has(id));
      onProgress?.(done.length);
      if (done.length === ids.length) return Math.max(...ids.map((id) => this.finished.get(id) ?? 0));
      if (Date.now() > deadline) return undefined;
      await sleep(100);
    }
  }

  finishedAt(id: string): number | undefined {
    return this.finished.get(id);
  }

  finishedCount(ids: readonly string[]): number {
    return ids.filter((id) => this.finished.has(id)).length;
  }

  async stop(): Promise<void> {
    if (this.worker.getState() === 'RUNNING') this.worker.shutdown();
    await this.running;
    await this.connection.close();
  }
}

/** Starts of the empty workflow (the RPC only), at one concurrency; the worker then runs them to completion. */
export async function workflowStartBaseline(client: Client, baseline: BaselineWorker, level: LoadLevel) {
  const ids: string[] = [];
  const result = await closedLoop({
    ...level,
    operation: async () => {
      const workflowId = `bench-empty-${randomUUID()}`;
      await client.workflow.start<typeof emptyWorkflow>('emptyWorkflow', {
        taskQueue: BASELINE_TASK_QUEUE,
        workflowId,
      });
      ids.push(workflowId);
    },
  });
  // Finished before the next step, so their workflow tasks do not weigh on it.
  await baseline.lastFinished(ids, 60_000);
  return result;
}

export interface OneActivityResult {
  workflows: number;
  completed: number;
  /** From the first start to the last completion. */
  elapsedMs: number;
}

/** `count` workflows of one activity each, started at `concurrency`, all run to completion. */
export async function oneActivityBaseline(
  client: Client,
  baseline: BaselineWorker,
  {
    count,
    concurrency,
    timeoutMs,
    onProgress,
  }: { count: number; concurrency: number; timeoutMs: number; onProgress?: (done: number) => void },
): Promise<OneActivityResult> {
  const ids: string[] = [];
  const started = await closedLoop({
    concurrency,
    count,
    maxMs: timeoutMs,
    operation: async () => {
      const workflowId = `bench-one-activity-${randomUUID()}`;
      await client.workflow.start<typeof oneActivityWorkflow>('oneActivityWorkflow', {
        taskQueue: BASELINE_TASK_QUEUE,
        workflowId,
      });
      ids.push(workflowId);
    },
  });
  const last = await baseline.lastFinished(ids, timeoutMs, onProgress);
  return {
    workflows: ids.length,
    completed: last === undefined ? baseline.finishedCount(ids) : ids.length,
    elapsedMs: (last ?? Date.now()) - started.startedAt,
  };
}

/** The one-activity workflows as open-loop arrivals: the same measurement as the orders', no delay designed in. */
export function oneActivityArrivals(client: Client, baseline: BaselineWorker): OpenLoopSubject {
  return {
    name: 'one-activity',
    designedDelayMs: 0,
    step: () => ({
      send: async () => {
        const workflowId = `bench-one-activity-${randomUUID()}`;
        await client.workflow.start<typeof oneActivityWorkflow>('oneActivityWorkflow', {
          taskQueue: BASELINE_TASK_QUEUE,
          workflowId,
        });
        return workflowId;
      },
      finalCount: async (ids) => baseline.finishedCount(ids),
      finalTimes: async (ids) =>
        new Map(
          ids.flatMap((id): [string, number][] => {
            const at = baseline.finishedAt(id);
            return at === undefined ? [] : [[id, at]];
          }),
        ),
    }),
  };
}

const SCHEMA = 'bench_baseline';

/** Copies of the orders tables (columns, constraints, indexes, the events' foreign key) in a schema of the bench's. */
async function createBaselineTables(db: Db): Promise<void> {
  await db.raw(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.raw(`CREATE SCHEMA ${SCHEMA}`);
  await db.raw(`CREATE TABLE ${SCHEMA}.orders (LIKE orders.orders INCLUDING ALL)`);
  await db.raw(`CREATE TABLE ${SCHEMA}.order_events (LIKE orders.order_events INCLUDING ALL)`);
  // LIKE copies the id default, which would draw from the product's own sequence.
  await db.raw(`CREATE SEQUENCE ${SCHEMA}.order_events_id_seq OWNED BY ${SCHEMA}.order_events.id`);
  await db.raw(
    `ALTER TABLE ${SCHEMA}.order_events ALTER COLUMN id SET DEFAULT nextval('${SCHEMA}.order_events_id_seq')`,
  );
  await db.raw(`ALTER TABLE ${SCHEMA}.order_events ADD FOREIGN KEY (order_id) REFERENCES ${SCHEMA}.orders (id)`);
}

/**
 * The insert `recordOrderCreated` makes (order row and its first event: the product's own statement, through the same
 * library), straight into the same Postgres: the ceiling of a durable create on this machine.
 */
export class InsertBaseline {
  private constructor(
    private readonly databaseUrl: string,
    private readonly admin: Db,
    private readonly runId: string,
  ) {}

  static async prepare(databaseUrl: string, runId: string): Promise<InsertBaseline> {
    const admin = createDb({ url: databaseUrl, poolMax: 1 });
    await createBaselineTables(admin);
    return new InsertBaseline(databaseUrl, admin, runId);
  }

  async run(level: LoadLevel): Promise<LoopResult> {
    const db = createDb({ url: this.databaseUrl, poolMax: Math.min(level.concurrency, MAX_INSERT_POOL) });
    const customerId = benchCustomer(`insert-c${level.concurrency}`, this.runId);
    try {
      return await closedLoop({ ...level, operation: (index) => insertOrder(db, customerId, index) });
    } finally {
      await db.destroy();
    }
  }

  /** Drops the bench's tables: nothing of the baseline stays in the database. */
  async close(): Promise<void> {
    await this.admin.raw(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
    await this.admin.destroy();
  }
}

async function insertOrder(db: Db, customerId: string, index: number): Promise<void> {
  const body = orderBody(customerId, index);
  const order = acceptedOrder({ ...body, id: randomUUID(), createdAt: new Date().toISOString() });
  await insertCreatedOrder(
    db,
    { order, requestFingerprint: null, idempotencyKey: null },
    { orders: `${SCHEMA}.orders`, events: `${SCHEMA}.order_events` },
  );
}
