// Records one real history per path of the order workflow into test/fixtures/histories/current/, for the replay tier;
// with the workflow as it was before its patches (taken from git): one order begun on it and ended on the current code
// (upgraded/), and the path a later patch changed, as the old code ran it (remote-writes/). The rest of remote-writes/
// and local-writes/ are earlier generations, kept as recorded then.
// Runs a Temporal dev server, embedded PostgreSQL and both real workers, then drives each path to its end.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { createMockGateway, type PaymentGateway } from '../src/activities/gateway';
import { createDb, migrateLatest } from '../src/db/knex';
import { cancelSignal, ORDERS_TASK_QUEUE, orderWorkflowId, statusQuery, type OrderWorkflowInput } from '../src/domain';
import { startEmbeddedPostgres } from '../src/tools/postgres';
import { resolveTemporalCli } from '../src/tools/temporal-cli';
import { startTemporalDevServer } from '../src/tools/temporal-server';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import { createOrdersWorker } from '../src/workers/orders/worker';
import { createPaymentsWorker } from '../src/workers/payments/worker';
import { eventually } from '../test/support/poll';
import { freePort } from '../src/tools/net';

const root = join(__dirname, '..');
const historiesDir = join(root, 'test', 'fixtures', 'histories');
const outDir = join(historiesDir, 'current');
const upgradedDir = join(historiesDir, 'upgraded');
const prePatchDir = join(historiesDir, 'remote-writes');
/** The last commit whose workflow had no patches (everything written through ordinary activities). */
const PRE_PATCH_COMMIT = '2e723ee';

type Handle = WorkflowHandle<(input: OrderWorkflowInput) => Promise<unknown>>;

interface Scenario {
  name: string;
  paymentToken: string;
  deliveryDelaySeconds: number;
  drive(handle: Handle): Promise<void>;
}

const waitForState = (handle: Handle, state: string) =>
  eventually(`state ${state}`, async () => ((await handle.query(statusQuery)).state === state ? true : undefined));

const scenarios: Scenario[] = [
  { name: 'delivered', paymentToken: 'tok_approve', deliveryDelaySeconds: 1, drive: async () => {} },
  { name: 'declined', paymentToken: 'tok_decline', deliveryDelaySeconds: 1, drive: async () => {} },
  { name: 'invalid-token', paymentToken: 'tok_invalid', deliveryDelaySeconds: 1, drive: async () => {} },
  { name: 'payment-retried', paymentToken: 'tok_flaky', deliveryDelaySeconds: 1, drive: async () => {} },
  {
    name: 'cancelled-in-created',
    paymentToken: 'tok_slow',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await handle.signal(cancelSignal, {});
    },
  },
  {
    name: 'cancelled-in-confirmed',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, { reason: 'changed my mind' });
    },
  },
  {
    name: 'duplicate-cancel',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, {});
      await handle.signal(cancelSignal, {});
    },
  },
  {
    name: 'workflow-cancelled',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.cancel();
    },
  },
  {
    name: 'workflow-cancelled-and-signalled',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.cancel();
      // While the refund runs the workflow's cancel is taken, so this signal is rejected.
      await eventually('the refund', async () => {
        const { events } = await handle.fetchHistory();
        const refund = events?.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refundPayment',
        );
        return refund ? true : undefined;
      });
      await handle.signal(cancelSignal, { reason: 'me too' });
    },
  },
];

/**
 * The mock gateway, plus two recording-only tokens: one that fails twice before confirming, one that is slow. Refunds
 * take a second, so a scenario can send a cancel while one is in flight.
 */
function recordingGateway(): PaymentGateway {
  const inner = createMockGateway({ approvalRate: 1, failureRate: 0, delayMs: 0 });
  let flakyCalls = 0;
  return {
    async charge(charge) {
      if (charge.token === 'tok_flaky' && flakyCalls++ < 2) throw new Error('gateway unavailable (recorded retry)');
      if (charge.token === 'tok_slow') await new Promise((resolve) => setTimeout(resolve, 3_000));
      return inner.charge(charge);
    },
    async refund(refund) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return inner.refund(refund);
    },
  };
}

/** Bundles src/workflows/order.ts as it was at `commit`, beside the current one so its imports resolve. */
async function bundleWorkflowAt(commit: string, workDir: string): Promise<string> {
  const { stdout: source } = await promisify(execFile)('git', ['show', `${commit}:src/workflows/order.ts`], {
    cwd: root,
  });
  const sourcePath = join(root, 'src', 'workflows', `.recording-${commit}.ts`);
  await writeFile(sourcePath, source);
  try {
    const { code } = await bundleWorkflowCode({ workflowsPath: sourcePath, logger: new DefaultLogger('WARN') });
    const bundlePath = join(workDir, `workflow-${commit}.js`);
    await writeFile(bundlePath, code);
    return bundlePath;
  } finally {
    await rm(sourcePath, { force: true });
  }
}

function newOrder(id: string, paymentToken: string, deliveryDelaySeconds: number): OrderWorkflowInput {
  return {
    order: {
      id,
      customerId: 'c-recorder',
      items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
      currency: 'MYR',
      paymentToken,
    },
    deliveryDelaySeconds,
  };
}

async function main(): Promise<void> {
  // The CLI both serves and exports: `temporal workflow show --output json` writes the canonical history format.
  const cli = await resolveTemporalCli({ build: false });
  if (!cli) throw new Error('no temporal CLI: run `npm run tools` first');
  const workDir = await mkdtemp(join(tmpdir(), 'record-histories-'));
  const postgres = await startEmbeddedPostgres({
    // Its own temp dir: PostgreSQL runs as an unprivileged user, who cannot enter workDir (mode 700, root).
    dataDir: await mkdtemp(join(tmpdir(), 'record-histories-pg-')),
    port: await freePort(),
    persistent: false,
  });
  const server = await startTemporalDevServer({
    cliPath: cli.path,
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: join(workDir, 'temporal.db'),
  });
  const db = createDb({ url: postgres.url });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const ordersWorker = (workflowBundlePath?: string) =>
    createOrdersWorker({ connection: nativeConnection, namespace: 'default', db, workflowBundlePath });
  const start = (input: OrderWorkflowInput): Promise<Handle> =>
    client.workflow.start('orderWorkflow', {
      taskQueue: ORDERS_TASK_QUEUE,
      workflowId: orderWorkflowId(input.order.id),
      args: [input],
    });
  async function save(dir: string, name: string, handle: Handle): Promise<void> {
    const outcome = await handle.result().then(
      (view) => `the order ended ${(view as { state: string }).state}`,
      (error: Error) => `the workflow ended with ${error.message}`,
    );
    const { stdout: history } = await promisify(execFile)(
      cli!.path,
      ['workflow', 'show', '--address', server.address, '--workflow-id', handle.workflowId, '--output', 'json'],
      { maxBuffer: 64 << 20 },
    );
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.json`), history.trimEnd() + '\n');
    console.log(`recorded ${name}: ${outcome}`);
  }
  try {
    await migrateLatest(db);
    const paymentsWorker = await createPaymentsWorker({
      connection: nativeConnection,
      namespace: 'default',
      db,
      gateway: recordingGateway(),
    });
    const oldBundle = await bundleWorkflowAt(PRE_PATCH_COMMIT, workDir);
    await paymentsWorker.runUntil(async () => {
      await (
        await ordersWorker()
      ).runUntil(async () => {
        for (const scenario of scenarios) {
          const handle = await start(newOrder(randomUUID(), scenario.paymentToken, scenario.deliveryDelaySeconds));
          await scenario.drive(handle);
          await save(outDir, scenario.name, handle);
        }
      });
      // An order confirmed by the old workflow, its worker then replaced by the current one: two cancels come, the
      // first refunds and cancels through ordinary activities, the rejected second is written the new way.
      let upgraded: Handle | undefined;
      await (
        await ordersWorker(oldBundle)
      ).runUntil(async () => {
        upgraded = await start(newOrder(randomUUID(), 'tok_approve', 3600));
        await waitForState(upgraded, 'confirmed');
        // The path patch rejections-outlive-cancel changed, as the old workflow ran it (it ended Cancelled).
        const changed = scenarios.find((scenario) => scenario.name === 'workflow-cancelled-and-signalled')!;
        const handle = await start(newOrder(randomUUID(), changed.paymentToken, changed.deliveryDelaySeconds));
        await changed.drive(handle);
        await save(prePatchDir, changed.name, handle);
      });
      await (
        await ordersWorker()
      ).runUntil(async () => {
        await upgraded!.signal(cancelSignal, {});
        await upgraded!.signal(cancelSignal, { reason: 'again' });
        await save(upgradedDir, 'confirmed-then-cancelled-twice', upgraded!);
      });
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
    await db.destroy();
    await server.stop();
    await postgres.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
