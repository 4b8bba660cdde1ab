// The order protocol under faults: creates taken while the orders worker is down, cancels answered truthfully while
// workers die, a crash between a local write and its task's completion, and a dead payments worker noticed in seconds.
import { isFinal } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { ApiClient, type CancelAnswer } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { statesOf, waitUntilAllFinal } from './order-probes';
import { startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { mapConcurrent } from '../../dev/support/map-concurrent';
import { createOrders, downtime, mixedOrders, orderBody, scenarioCustomer } from './workload';
import { DELIVERY_DELAY_SECONDS } from '../../dev/stack/stack';
import { stopAndSearchLogs } from './credential-search';

// Deadlines for progress, not speed: 2,000 orders on a 2-core machine that other work may share.
jest.setTimeout(600_000);

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startStack('protocol', { api: { CANCEL_DECISION_TIMEOUT_MS: '1000' } });
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

/** Rows exist only once an orders worker has run the order's first step. */
const rowCount = async (customerId: string) => {
  const [{ n }] = await stack.db('orders.orders').where({ customer_id: customerId }).count({ n: '*' });
  return Number(n);
};

it('takes 2,000 creates at c=64 while the orders worker is down: each a 201 readable at once, each ending final once it is back', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('worker-down-creates');
    await stack.ordersWorker.kill();
    const bodies = mixedOrders(customer, 2_000);
    const unreadable: string[] = [];
    let retriedCreates = 0;
    const createStarted = Date.now();
    const deadline = createStarted + 180_000;
    // Each order is read right after its 201, while no worker has run it.
    const orders = await mapConcurrent(bodies, 64, async (body, index) => {
      const { order, failedAttempts } = await api.createOrderRetrying(body, `${customer}-${index}`, deadline);
      retriedCreates += failedAttempts;
      const found = await api.getOrder(order.id);
      if (found?.id !== order.id || found.state !== 'created') unreadable.push(order.id);
      return order;
    });
    const createMs = Date.now() - createStarted;
    const rowsWhileDown = await rowCount(customer);
    await stack.ordersWorker.start();
    const backAt = Date.now();
    const ids = orders.map((order) => order.id);
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 480_000);

    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('9 creates with the orders worker down', report, {
        faults: ['orders-worker SIGKILL before 2,000 creates at c=64'],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          creates_per_s: (orders.length / (createMs / 1000)).toFixed(0),
          creates_retried_after_503: retriedCreates,
          rows_while_down: rowsWhileDown,
          all_final_after_back: `${((Date.now() - backAt) / 1000).toFixed(1)}s`,
        },
      }),
    );
    // Temporal holds each order encrypted: its start (input and memo) names no customer, token or item readably.
    const { history } = await stack.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: `order-${ids[0]}` },
    });
    const startEvent = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    const stored = [...(startEvent?.input?.payloads ?? []), ...Object.values(startEvent?.memo?.fields ?? {})];
    expect(stored.length).toBeGreaterThan(1);
    for (const payload of stored) {
      expect(Buffer.from(payload.data ?? []).toString('latin1')).not.toMatch(/tok_approve|FUEL-95|e2e-worker-down/);
    }
    expect(new Set(ids).size).toBe(2_000);
    expect(retriedCreates).toBe(0);
    expect(unreadable).toEqual([]);
    expect(rowsWhileDown).toBe(0);
    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(2_000);
    expect(stack.unexpectedExits()).toEqual([]);
  }));

it('bears out every cancel answer while both workers are killed mid-flow: accepted ends cancelled, rejected never does, pending is decided and recorded', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('cancel-truth');
    const create = async (count: number) =>
      (
        await createOrders(
          api,
          Array.from({ length: count }, (_, i) => orderBody(customer, 'tok_approve', i)),
          { concurrency: 16 },
        )
      ).orders.map((order) => order.id);
    // Delivered ones, whose cancels must be rejected; then orders that wait 30 s for delivery, to be cancelled.
    const delivered = await create(30);
    await waitUntilAllFinal(stack.db, delivered, 120_000);
    await stack.api.restart({ DELIVERY_DELAY_SECONDS: '30' });
    const waiting = await create(90);
    const ids = [...delivered, ...waiting];
    const answers = new Map<string, CancelAnswer>();
    const cancel = (some: string[]) =>
      mapConcurrent(some, 8, async (id) => {
        answers.set(id, await api.cancel(id, 'cancel-truth'));
      });
    await cancel([...delivered.slice(0, 15), ...waiting.slice(0, 30)]);
    await stack.ordersWorker.kill();
    await cancel([...delivered.slice(15), ...waiting.slice(30, 60)]);
    await stack.paymentsWorker.kill();
    await stack.ordersWorker.start();
    await cancel(waiting.slice(60));
    await downtime(2_000);
    await stack.paymentsWorker.start();
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 120_000);
    await stack.api.restart({ DELIVERY_DELAY_SECONDS: String(DELIVERY_DELAY_SECONDS) });

    const states = await statesOf(stack.db, ids);
    const rejectedIds = new Set(
      (
        await stack
          .db('orders.order_events')
          .whereIn('order_id', ids)
          .where({ event: 'cancel_rejected' })
          .select<{ order_id: string }[]>('order_id')
      ).map((row) => row.order_id),
    );
    const untrue = ids.flatMap((id) => {
      const { cancellation } = answers.get(id)!;
      const state = states.get(id);
      if (cancellation === 'accepted' && state !== 'cancelled') return [`${id}: accepted, ended ${state}`];
      if (cancellation === 'rejected' && state === 'cancelled') return [`${id}: rejected, ended cancelled`];
      if (cancellation === 'pending' && state === 'delivered' && !rejectedIds.has(id)) {
        return [`${id}: pending, delivered with no rejection recorded`];
      }
      return [];
    });
    const tally = (status: CancelAnswer['cancellation']) =>
      [...answers.values()].filter((a) => a.cancellation === status).length;
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('10 cancel answers with workers killed', report, {
        faults: ['orders-worker SIGKILL', 'payments-worker SIGKILL'],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: { accepted: tally('accepted'), rejected: tally('rejected'), pending: tally('pending') },
      }),
    );
    expect(untrue).toEqual([]);
    expect(tally('pending')).toBeGreaterThan(0);
    expect(tally('accepted')).toBeGreaterThan(0);
    expect(tally('rejected')).toBeGreaterThan(0);
    expect(ids.every((id) => isFinal(states.get(id) ?? 'created'))).toBe(true);
    expect(findings(report)).toEqual([]);
    expect(stack.unexpectedExits()).toEqual([]);
  }));

it.each(['confirmed', 'delivered'])(
  'loses and doubles nothing when the orders worker dies right after writing %s, before its task completes',
  (state) =>
    withLogsOnFailure(stack, async () => {
      const started = Date.now();
      const customer = scenarioCustomer(`crash-after-${state}`);
      await stack.ordersWorker.restart({ E2E_CRASH_AFTER: state, E2E_CRASH_AT: '5' });
      const exitsBefore = stack.ordersWorker.unexpectedExits.length;
      const { orders } = await createOrders(api, mixedOrders(customer, 24), { concurrency: 8 });
      const ids = orders.map((order) => order.id);
      await eventually('the armed orders worker to crash', () => (stack.ordersWorker.running ? undefined : true), {
        timeoutMs: 60_000,
      });
      await stack.ordersWorker.start({ E2E_CRASH_AFTER: '' });
      const recoveryMs = await waitUntilAllFinal(stack.db, ids, 90_000);
      const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
      figures.record(
        figuresFrom(`11 orders worker dies after writing ${state}`, report, {
          faults: [`orders-worker SIGKILL right after its 5th ${state} write`],
          recoveryMs,
          durationMs: Date.now() - started,
        }),
      );
      // The armed crash is the one exit expected; any other fails the scenario.
      expect(stack.ordersWorker.unexpectedExits.splice(exitsBefore)).toEqual([
        expect.stringMatching(/orders-worker exited/),
      ]);
      expect(stack.unexpectedExits()).toEqual([]);
      expect(findings(report)).toEqual([]);
      expect(report.orders).toBe(24);
    }),
);

it('charges every order within 5 s of the payments worker coming back after it died mid-charge', () =>
  withLogsOnFailure(stack, async () => {
    await stack.paymentsWorker.restart({ PAYMENT_GATEWAY_DELAY_MS: '1500' });
    const started = Date.now();
    const customer = scenarioCustomer('payments-back');
    const { orders } = await createOrders(
      api,
      Array.from({ length: 30 }, (_, i) => orderBody(customer, 'tok_approve', i)),
      { concurrency: 30 },
    );
    const ids = orders.map((order) => order.id);
    await eventually('charges in flight at the gateway', async () => {
      const [{ n }] = await stack
        .db('payments.payments')
        .whereIn('order_id', ids)
        .where({ status: 'pending' })
        .count({ n: '*' });
      return Number(n) >= 10 ? true : undefined;
    });
    await stack.paymentsWorker.kill();
    await stack.paymentsWorker.start({ PAYMENT_GATEWAY_DELAY_MS: '0' });
    const backAt = Date.now();
    const chargedMs = await eventually(
      'every order charged',
      async () => {
        const states = await statesOf(stack.db, ids);
        return ids.every((id) => states.get(id) !== 'created' && states.get(id) !== undefined)
          ? Date.now() - backAt
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await waitUntilAllFinal(stack.db, ids, 60_000);
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('12 payments worker back after dying mid-charge', report, {
        faults: ['payments-worker SIGKILL with charges in flight'],
        recoveryMs: chargedMs,
        durationMs: Date.now() - started,
        extra: { all_charged_after_back: `${(chargedMs / 1000).toFixed(1)}s` },
      }),
    );
    expect(findings(report)).toEqual([]);
    // The heartbeat timeout (2 s) notices the dead worker; without it the retry waits out the 30 s start-to-close.
    expect(chargedMs).toBeLessThan(15_000);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
