// Shipping a new order workflow while orders are in flight, with Worker Deployment Versioning (docs/worker-versioning.md):
// today's unversioned orders worker hands over to v1 (this tree's bundle) with orders waiting on their timers; v2, a
// build whose workflow v1's histories cannot replay (test/replay/incompatible-workflow.ts), is smoke-tested with one
// pinned order, ramped to 50%, promoted; v1 drains and its worker stops; then v1 comes back and is promoted again, a
// rollback. Every order must finish on the build it is pinned to, with no task failing on non-determinism, no order
// lost or doubled, every cancel answered truly and no order waiting much beyond its delay. The payments worker stays
// unversioned throughout. This stack's Temporal server (and only it) checks drainage every second instead of every
// 3 minutes, so the drain fits the test.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { orderWorkflowType } from '../../src/domain';
import { workerDeployment, type WorkerDeployment } from '../../src/workers/deployment-versions';
import { bundleOrderWorkflows } from '../../src/workers/orders/workflow-bundle';
import { DefaultLogger } from '@temporalio/worker';
import { startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import type { ManagedService } from '../../dev/stack/service';
import { run } from '../../dev/tools/exec';
import { eventually } from '../../dev/support/poll';
import { mapConcurrent } from '../../dev/support/map-concurrent';
import { ApiClient, type CancelAnswer } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { statesOf, transitionTimes, waitUntilAllFinal } from './order-probes';
import { buildsOf, orderVersioning, UNVERSIONED, type OrderVersioning } from './version-probes';
import { createOrders, mixedOrders, scenarioCustomer } from './workload';

jest.setTimeout(480_000);

/** The Temporal Worker Deployment of the orders worker, named as the worker controller names one: `<k8s-ns>/<name>`. */
const DEPLOYMENT = 'e2e/orders-worker';
const V1 = 'v1';
const V2 = 'v2';
/** Long enough that orders of v1 still wait on their timers when v2 is promoted, and v2's when v1 comes back. */
const DELAY_SECONDS = 25;
/** The unversioned orders sleep through the whole migration (they are cancelled on v1 once v2 is current). */
const SLEEPER_DELAY_SECONDS = 120;
/**
 * How long beyond its delay an order may wait: a workflow task or two and a payment, which take up to ~7 s on a cold
 * production server on this busy 2-core machine. An order held up by the upgrade (routed to a build with no worker,
 * waiting out a dead worker's sticky queue and a retry) would wait far longer, or never end.
 */
const SLACK_MS = 10_000;
/**
 * For this stack's server only: drainage counted every second after a 2 s grace instead of 3 minutes each, and a
 * stopped worker forgotten after 2 s instead of 5 minutes, so that its drained version may be retired.
 */
const TEST_DYNAMIC_CONFIG = {
  'matching.wv.VersionDrainageStatusRefreshInterval': '1s',
  'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '2s',
  'matching.PollerHistoryTTL': '2s',
};

/**
 * A routing change may take a while to reach every partition of the task queue on a busy machine; when the production
 * server's report of it sticks (temporalio/temporal#11842), the task queues are asked after 5 s.
 */
const SETTLE = { timeoutMs: 180_000, stuckAfterMs: 5_000 };

const versionEnv = (buildId: string) => ({ TEMPORAL_DEPLOYMENT_NAME: DEPLOYMENT, TEMPORAL_WORKER_BUILD_ID: buildId });

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;
let deployment: WorkerDeployment;
let v2BundlePath: string;

beforeAll(async () => {
  stack = await startStack(
    'worker-versioning',
    { api: { DELIVERY_DELAY_SECONDS: String(SLEEPER_DELAY_SECONDS) } },
    { temporalDynamicConfig: TEST_DYNAMIC_CONFIG },
  );
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
  deployment = workerDeployment(stack.client, DEPLOYMENT);
  // v2 is bundled as any build is, by the one bundler, from the variant's workflows.
  v2BundlePath = join(stack.runDir, 'workflow-bundle-v2.js');
  const { code } = await bundleOrderWorkflows({
    workflowsPath: require.resolve('../replay/incompatible-workflow'),
    logger: new DefaultLogger('WARN'),
  });
  await writeFile(v2BundlePath, code);
});

afterAll(async () => {
  await figures.flush();
  await stack?.stop();
});

/** Waits until no order of `ids` waits on its payment: the confirmed ones wait on their delivery timers. */
async function paymentsSettled(ids: readonly string[]): Promise<void> {
  await eventually(
    `${ids.length} orders past their payment`,
    async () => ([...(await statesOf(stack.db, ids)).values()].includes('created') ? undefined : true),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/** The operator's tool (scripts/worker-deployment.ts) against this stack's server; what it printed. */
async function operatorTool(...args: string[]): Promise<string> {
  const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
  const script = join(__dirname, '..', '..', 'scripts', 'worker-deployment.ts');
  return run(tsx, [script, '--deployment-name', DEPLOYMENT, ...args], {
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    PAYLOAD_KEYS_FILE: join(stack.runDir, 'payload-keys.json'),
    DELIVERY_DELAY_SECONDS: String(DELAY_SECONDS),
  });
}

/** Cancels up to `count` of `ids` that wait on their delivery timers; the answers by order id. */
async function cancelWaiting(ids: readonly string[], count: number): Promise<Map<string, CancelAnswer>> {
  const states = await statesOf(stack.db, ids);
  const waiting = ids.filter((id) => states.get(id) === 'confirmed').slice(0, count);
  return new Map(await mapConcurrent(waiting, 4, async (id) => [id, await api.cancel(id, 'upgrade test')] as const));
}

it('ships v2 beside v1 with orders in flight, then rolls back to v1: each order ends on the build it is pinned to', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('upgrade');
    const create = async (count: number) =>
      (await createOrders(api, mixedOrders(customer, count), { concurrency: 8 })).orders.map((order) => order.id);
    const cancels = new Map<string, CancelAnswer>();
    // How long each routing change took to settle (the server propagates it to every task queue partition).
    const settleSeconds: string[] = [];
    const routingChange = async (change: () => Promise<{ confirmedByTaskQueues?: boolean } | string>) => {
      const since = Date.now();
      const routing = await change();
      // Marked when the server's own report stayed "propagating" (temporalio/temporal#11842).
      const stuck = typeof routing === 'string' ? routing.includes('#11842') : routing.confirmedByTaskQueues;
      settleSeconds.push(`${((Date.now() - since) / 1000).toFixed(1)}${stuck ? '*' : ''}`);
      return routing;
    };
    const cancel = async (ids: readonly string[], count: number) => {
      for (const [id, answer] of await cancelWaiting(ids, count)) cancels.set(id, answer);
    };

    // Today: the unversioned worker takes orders, which pay and wait on their timers.
    const unversioned = await create(8);
    await paymentsSettled(unversioned);

    // The migration: v1 is this tree's code, versioned. Once it is current, an unversioned order moves to it with its
    // next task (here a cancel); those asleep on their timers are pinned to it before any other build can be current.
    const v1 = await stack.addOrdersWorker('orders-worker-v1', versionEnv(V1));
    await v1.start();
    await routingChange(() => deployment.promote(V1, SETTLE));
    await cancel(unversioned, 2);
    const pinOutput = await operatorTool('pin-unversioned', V1);
    await eventually('no open order left unversioned', async () =>
      (await deployment.countUnversioned(orderWorkflowType)) === 0 ? true : undefined,
    );
    await stack.ordersWorker.stop();
    // Every order from here on waits the scenario's delay.
    await stack.api.restart({ DELIVERY_DELAY_SECONDS: String(DELAY_SECONDS) });
    const onV1 = await create(12);

    // v2 beside it, smoke-tested with one order pinned to it before it takes any other.
    const v2: ManagedService = await stack.addOrdersWorker('orders-worker-v2', {
      ...versionEnv(V2),
      WORKFLOW_BUNDLE_PATH: v2BundlePath,
    });
    await v2.start();
    await deployment.waitForVersion(V2);
    const smokeOutput = await operatorTool('smoke', V2, '--customer', customer);
    const smoke = /^order ([0-9a-f-]{36}) runs on v2/m.exec(smokeOutput)?.[1] ?? `(no order in ${smokeOutput})`;
    const smokeVersioning = await orderVersioning(stack.client, smoke);
    expect((await deployment.describe()).current).toBe(V1);
    expect(smokeVersioning).toMatchObject({ pinnedTo: V2, overridden: true });
    expect(buildsOf(smokeVersioning)).toEqual([V2]);

    // Ramp, then promote; v1's orders still wait on their timers.
    await routingChange(() => deployment.ramp(V2, 50, SETTLE));
    const ramped = await create(20);
    const pinnedToV1 = [...unversioned, ...onV1];
    const v1WaitingAtPromotion = [...(await statesOf(stack.db, pinnedToV1)).values()].filter(
      (state) => state === 'confirmed',
    ).length;
    await routingChange(() => deployment.promote(V2, SETTLE));
    const promotedAt = Date.now();
    const onV2 = await create(12);
    // Cancels reach each order on its own build: v1's on v1 (the migrated sleepers too), v2's on v2.
    await cancel(unversioned, unversioned.length);
    await cancel(onV1, 2);
    await paymentsSettled(onV2);
    await cancel(onV2, 2);

    // v1 drains once its last order ends; its worker is then stopped.
    await waitUntilAllFinal(stack.db, [...pinnedToV1, ...ramped], 120_000);
    const drained = await deployment.waitUntilDrained(V1, { timeoutMs: 60_000 });
    const drainedAt = Date.now();
    await v1.stop();

    // Rollback: v1 back and current again; v2's orders in flight finish on v2.
    const v2InFlight = await create(8);
    await paymentsSettled(v2InFlight);
    await v1.start();
    const rollbackOutput = (await routingChange(() => operatorTool('promote', V1))) as string;
    const rolledBack = await create(8);
    await cancel(v2InFlight, 2);

    const all = [...unversioned, ...onV1, smoke, ...ramped, ...onV2, ...v2InFlight, ...rolledBack];
    await waitUntilAllFinal(stack.db, all, 120_000);
    const versioning = new Map(
      (await mapConcurrent(all, 8, (id) => orderVersioning(stack.client, id))).map((v) => [v.orderId, v]),
    );
    const of = (ids: readonly string[]) => ids.map((id) => versioning.get(id)!);
    const report = await auditStack(stack, api, { orderIds: all, customerIds: [customer] });
    // Retiring v2: once it drained and its workers stopped (and the audit no longer queries its orders).
    await deployment.waitUntilDrained(V2, { timeoutMs: 60_000 });
    await v2.stop();
    const retireOutput = await eventually('v2 to be retired', () => operatorTool('retire', V2), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    const waits = await waitsBeyondDelay(stack, all, (id) =>
      unversioned.includes(id) ? SLEEPER_DELAY_SECONDS : DELAY_SECONDS,
    );
    const states = await statesOf(stack.db, all);
    const rampedOn = (build: string) => of(ramped).filter((v) => v.pinnedTo === build).length;
    const migrated = of(unversioned).filter((v) => buildsOf(v).includes(V1));
    const endedOnV1 = of([...pinnedToV1, ...ramped]).filter((v) => v.pinnedTo === V1);
    const lastV1Close = Math.max(
      ...(await finalTransitionTimes(
        stack,
        endedOnV1.map((v) => v.orderId),
      )),
    );
    figures.record(
      figuresFrom('worker versioning: unversioned → v1 → v2 (ramp 50%, promote) → rollback to v1', report, {
        faults: ['v1 promoted over unversioned', 'v2 ramped 50% then promoted', 'v1 stopped once drained', 'rollback'],
        durationMs: Date.now() - started,
        extra: {
          migrated_to_v1: migrated.length,
          migrated_by_pin: migrated.filter((v) => v.overridden).length,
          on_v1: onV1.length + rampedOn(V1) + rolledBack.length,
          on_v2: 1 + onV2.length + rampedOn(V2) + v2InFlight.length,
          ramp_split: `${rampedOn(V1)}/${rampedOn(V2)}`,
          v1_waiting_at_promotion: v1WaitingAtPromotion,
          drained_after_last_v1_order_s: ((drainedAt - lastV1Close) / 1000).toFixed(1),
          drain_since_promotion_s: ((drainedAt - promotedAt) / 1000).toFixed(1),
          longest_wait_beyond_delay_s: (Math.max(...waits.values()) / 1000).toFixed(1),
          cancels: cancels.size,
          routing_settled_s: settleSeconds.join('/'),
        },
      }),
    );

    // Where each order ran.
    const nondeterminism = [...versioning.values()].flatMap((v) => v.nondeterminism.map((m) => `${v.orderId}: ${m}`));
    expect(nondeterminism).toEqual([]);
    // Unversioned orders still open at the migration began on the unversioned worker and ended on v1, pinned to it by
    // their first task there or by the operator; those already ended stayed as they were.
    for (const v of of(unversioned)) expect([[UNVERSIONED], [UNVERSIONED, V1]]).toContainEqual(buildsOf(v));
    for (const v of migrated) expect({ ...v, builds: buildsOf(v) }).toMatchObject(pinnedOn(V1, [UNVERSIONED, V1]));
    const waitedForV1 = unversioned.filter((id) => cancels.has(id) || states.get(id) === 'delivered');
    expect(waitedForV1.filter((id) => !buildsOf(versioning.get(id)!).includes(V1))).toEqual([]);
    expect(migrated.filter((v) => v.overridden).length).toBeGreaterThan(0);
    for (const v of of(onV1)) expect({ ...v, builds: buildsOf(v) }).toMatchObject(pinnedOn(V1, [V1]));
    for (const v of of([...onV2, ...v2InFlight]))
      expect({ ...v, builds: buildsOf(v) }).toMatchObject(pinnedOn(V2, [V2]));
    for (const v of of(rolledBack)) expect({ ...v, builds: buildsOf(v) }).toMatchObject(pinnedOn(V1, [V1]));
    for (const v of of(ramped)) expect([[V1], [V2]]).toContainEqual(buildsOf(v));
    expect(rampedOn(V1)).toBeGreaterThan(0);
    expect(rampedOn(V2)).toBeGreaterThan(0);
    // v1 had orders in flight when it stopped taking new ones, and drained only once the last of them ended.
    expect(v1WaitingAtPromotion).toBeGreaterThan(0);
    expect(drained.drainageChangedAt!.getTime()).toBeGreaterThanOrEqual(lastV1Close - 1_000);
    const pinnedCount = Number(/^(\d+) open orders no version had taken are pinned to v1$/m.exec(pinOutput)?.[1]);
    expect(pinnedCount).toBe(migrated.filter((v) => v.overridden).length);
    expect(rollbackOutput).toContain(`new orders to ${V1}`);
    expect(retireOutput).toContain(`${V2} retired`);
    await eventually('v2 to leave the deployment', async () =>
      (await deployment.describe()).versions.some((v) => v.buildId === V2) ? undefined : true,
    );
    expect(await deployment.describe()).toMatchObject({ current: V1, ramping: undefined });

    // Nothing lost, doubled or answered untruly, and no order kept waiting.
    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(all.length);
    const untrue = [...cancels].filter(([id, answer]) =>
      answer.cancellation === 'rejected' ? states.get(id) !== 'delivered' : states.get(id) !== 'cancelled',
    );
    expect(untrue).toEqual([]);
    expect(cancels.size).toBeGreaterThanOrEqual(6);
    const batchOf = (id: string) =>
      Object.entries({ unversioned, onV1, smoke: [smoke], ramped, onV2, v2InFlight, rolledBack }).find(([, ids]) =>
        ids.includes(id),
      )?.[0];
    expect([...waits].filter(([, ms]) => ms > SLACK_MS).map(([id, ms]) => `${batchOf(id)} ${id}: ${ms} ms`)).toEqual(
      [],
    );
    expect(stack.unexpectedExits()).toEqual([]);
  }));

function pinnedOn(buildId: string, builds: string[]): Partial<OrderVersioning> & { builds: string[] } {
  return { pinnedTo: buildId, pinned: true, builds };
}

/** When each order reached its final state (epoch ms). */
async function finalTransitionTimes(s: Stack, ids: readonly string[]): Promise<number[]> {
  const [delivered, cancelled] = await Promise.all([
    transitionTimes(s.db, ids, 'delivered'),
    transitionTimes(s.db, ids, 'cancelled'),
  ]);
  return [...delivered.values(), ...cancelled.values()];
}

/**
 * How long each order waited beyond what it had to: from its creation to its payment's outcome, and from its
 * confirmation to its delivery less the delay. Orders cancelled by a customer count up to their payment only.
 */
async function waitsBeyondDelay(
  s: Stack,
  ids: readonly string[],
  delaySeconds: (id: string) => number,
): Promise<Map<string, number>> {
  const [created, confirmed, delivered, cancelled] = await Promise.all(
    (['created', 'confirmed', 'delivered', 'cancelled'] as const).map((state) => transitionTimes(s.db, ids, state)),
  );
  return new Map(
    ids.map((id) => {
      const start = created.get(id) ?? 0;
      const paid = confirmed.get(id) ?? cancelled.get(id) ?? start;
      const payment = paid - start;
      const end = delivered.get(id);
      const timer = end === undefined ? 0 : end - (confirmed.get(id) ?? end) - delaySeconds(id) * 1000;
      return [id, Math.max(payment, timer)];
    }),
  );
}
