// Records one real history per path of the order workflow into test/fixtures/histories/<build>/, for the replay tier:
// `npm run record-histories -- --build <name>`, a build of test/replay/builds.ts (default `unversioned`). Runs a
// Temporal dev server, embedded PostgreSQL and both real workers (the orders worker on that build's workflow code,
// polling as that Worker Deployment Version when the build is versioned), then drives each path to its end.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { createMockGateway, type PaymentGateway } from '../src/activities/gateway';
import { createOrderActivities } from '../src/activities/orders';
import { createDb, migrateLatest } from '../src/db/knex';
import {
  cancelSignal,
  cancelUpdate,
  ORDERS_TASK_QUEUE,
  orderWorkflowId,
  orderWorkflowType,
  statusQuery,
  type OrderWorkflowInput,
} from '../src/domain';
import { EncryptionCodec, loadOrCreatePayloadKeys } from '../src/payload-codec';
import { startEmbeddedPostgres } from '../dev/tools/postgres';
import { resolveTemporalCli, resolveTemporalClientCli } from '../dev/tools/temporal-cli';
import { startTemporalDevServer } from '../dev/tools/temporal-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { workerDeployment } from '../src/workers/deployment-versions';
import { createOrdersWorker } from '../src/workers/orders/worker';
import { bundleOrderWorkflows } from '../src/workers/orders/workflow-bundle';
import { historiesDir, recordedBuild } from '../test/replay/builds';
import { createPaymentsWorker } from '../src/workers/payments/worker';
import { holdingDeliveries, type DeliveryHold } from '../dev/support/delivery-holds';
import { eventually } from '../dev/support/poll';
import { freePort } from '../dev/tools/net';

/** The Worker Deployment a versioned build is recorded in. */
const RECORDING_DEPLOYMENT = 'record-histories';
/** The histories are encrypted as production's are, with this test-only key (the replay tier decrypts with it). */
const fixtureKeysFile = join(__dirname, '..', 'test', 'fixtures', 'payload-keys.json');

type Handle = WorkflowHandle<(input: OrderWorkflowInput) => Promise<unknown>>;

interface Scenario {
  name: string;
  paymentToken: string;
  deliveryDelaySeconds: number;
  /** Hold the delivery's write open once committed (test/support/delivery-holds.ts). */
  hold?: boolean;
  drive(handle: Handle, held?: DeliveryHold): Promise<void>;
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
      await handle.executeUpdate(cancelUpdate, { args: [{ requestId: randomUUID() }] });
    },
  },
  {
    name: 'cancelled-in-confirmed',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'changed my mind', requestId: randomUUID() }] });
    },
  },
  {
    name: 'cancel-signalled',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, { reason: 'from the Web UI' });
    },
  },
  {
    name: 'duplicate-cancel',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 3600,
    drive: async (handle) => {
      await waitForState(handle, 'confirmed');
      const requestId = randomUUID();
      await handle.executeUpdate(cancelUpdate, { args: [{ requestId }] });
      await handle.signal(cancelSignal, { requestId });
      await handle.executeUpdate(cancelUpdate, { args: [{ requestId: randomUUID(), reason: 'again' }] });
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
    name: 'cancel-lost-to-delivery',
    paymentToken: 'tok_approve',
    deliveryDelaySeconds: 1,
    hold: true,
    drive: async (handle, held) => {
      // The delivery is committed; the cancel makes its task retry, decide to cancel, and follow the row.
      await held!.isWritten;
      await handle.signal(cancelSignal, { reason: 'too late' });
      held!.release();
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
  const { values } = parseArgs({ options: { build: { type: 'string', default: 'unversioned' } } });
  const build = recordedBuild(values.build);
  const outDir = historiesDir(build.name);
  // The dev server serves; the client CLI exports (`temporal workflow show --output json`, the canonical format).
  const cli = await resolveTemporalCli({ build: false });
  const clientCli = await resolveTemporalClientCli({ build: false });
  if (!cli || !clientCli) throw new Error('no temporal dev server or client CLI: run `npm run tools` first');
  const exporter = clientCli.path;
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
  const dataConverter = { payloadCodecs: [new EncryptionCodec(await loadOrCreatePayloadKeys(fixtureKeysFile))] };
  const client = new Client({ connection, dataConverter });
  const deliveries = holdingDeliveries(createOrderActivities({ db }));
  const start = (input: OrderWorkflowInput): Promise<Handle> =>
    client.workflow.start(orderWorkflowType, {
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
      exporter,
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
      dataConverter,
      gateway: recordingGateway(),
    });
    const workflowBundlePath = join(workDir, 'workflow-bundle.js');
    await writeFile(workflowBundlePath, (await bundleOrderWorkflows({ workflowsPath: build.workflowsPath })).code);
    const deploymentVersion = build.versioned
      ? { deploymentName: RECORDING_DEPLOYMENT, buildId: build.name }
      : undefined;
    const ordersWorker = await createOrdersWorker({
      connection: nativeConnection,
      namespace: 'default',
      db,
      dataConverter,
      activities: deliveries.activities,
      workflowBundlePath,
      deploymentVersion,
    });
    await paymentsWorker.runUntil(
      ordersWorker.runUntil(async () => {
        // A version takes no task until it is current.
        if (deploymentVersion) await workerDeployment(client, RECORDING_DEPLOYMENT).promote(build.name);
        for (const scenario of scenarios) {
          const id = randomUUID();
          const held = scenario.hold ? deliveries.hold(id) : undefined;
          const handle = await start(newOrder(id, scenario.paymentToken, scenario.deliveryDelaySeconds));
          await scenario.drive(handle, held);
          await save(outDir, scenario.name, handle);
        }
      }),
    );
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
