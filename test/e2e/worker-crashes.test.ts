// Worker crashes: either worker killed with SIGKILL mid-flow and restarted; every order still ends once, correctly.
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from './stack';
import {
  createOrders,
  downtime,
  openTransactions,
  orderBody,
  scenarioCustomer,
  statesOf,
  transitionTimes,
  waitUntilAllFinal,
} from './workload';
import { eventually } from '../support/poll';

jest.setTimeout(240_000);

const ORDERS = 60;
/**
 * Temporal hands a dead worker's sticky workflow tasks to a live worker after 10 s (the worker's sticky queue
 * schedule-to-start timeout), and retries an activity it was running after its 15 s start-to-close timeout; an
 * overdue delivery is "as soon as the worker is back" when it lands within that, plus a margin.
 */
const MAX_CATCH_UP_MS = 15_000;

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  // A slow gateway keeps orders waiting on payment while others already wait on their delivery timer.
  stack = await startStack('worker-crashes', { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '1000' } });
  api = new ApiClient(stack.apiUrl);
});

afterAll(async () => {
  await figures.flush();
  await stack?.stop();
});

it('finishes every order after the orders worker is SIGKILLed, delivering what fell due while it was down once it is back', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('orders-kill');
    const bodies = Array.from({ length: ORDERS }, (_, i) =>
      orderBody(customer, i % 4 === 3 ? 'tok_decline' : 'tok_approve', i),
    );
    const { orders } = await createOrders(api, bodies, { concurrency: 16 });
    const ids = orders.map((order) => order.id);
    const atKill = await eventually('orders both waiting on payment and on the delivery timer', async () => {
      const states = await statesOf(stack.db, ids);
      const inState = (state: string) => ids.filter((id) => states.get(id) === state);
      return inState('created').length >= 5 && inState('confirmed').length >= 5 ? states : undefined;
    });
    await stack.ordersWorker.kill();
    const killedAt = Date.now();
    await downtime(8_000);
    await stack.ordersWorker.start();
    const backAt = Date.now();
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 90_000);

    const onTimer = ids.filter((id) => atKill.get(id) === 'confirmed');
    const [confirmedAt, deliveredAt] = await Promise.all([
      transitionTimes(stack.db, onTimer, 'confirmed'),
      transitionTimes(stack.db, onTimer, 'delivered'),
    ]);
    const lateness = onTimer.map((id) => {
      const dueAt = (confirmedAt.get(id) ?? 0) + DELIVERY_DELAY_SECONDS * 1000;
      const at = deliveredAt.get(id);
      return { id, dueAt, at, afterBackMs: at === undefined ? Infinity : at - Math.max(backAt, dueAt) };
    });
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('2 orders worker SIGKILL', report, {
        faults: ['orders-worker SIGKILL', `${((backAt - killedAt) / 1000).toFixed(1)}s down`],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          waiting_on_payment_at_kill: ids.filter((id) => atKill.get(id) === 'created').length,
          waiting_on_timer_at_kill: onTimer.length,
          fell_due_while_down: lateness.filter((l) => l.dueAt < backAt).length,
          max_delivery_after_back: `${(Math.max(...lateness.map((l) => l.afterBackMs)) / 1000).toFixed(1)}s`,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.finalStates).toEqual({ delivered: ORDERS * 0.75, cancelled: ORDERS * 0.25 });
    expect(lateness.filter((l) => l.at === undefined || l.at < l.dueAt)).toEqual([]);
    expect(lateness.filter((l) => l.afterBackMs > MAX_CATCH_UP_MS)).toEqual([]);
    expect(stack.unexpectedExits()).toEqual([]);
  }));

it('charges no order twice when the payments worker is SIGKILLed mid-payment, and finishes every order', () =>
  withLogsOnFailure(stack, async () => {
    await stack.paymentsWorker.restart({
      PAYMENT_GATEWAY_DELAY_MS: '1000',
      PAYMENT_FAILURE_RATE: '0.3',
      PAYMENT_APPROVAL_RATE: '0.7',
    });
    const started = Date.now();
    const customer = scenarioCustomer('payments-kill');
    const bodies = Array.from({ length: ORDERS }, (_, i) => orderBody(customer, 'tok_visa', i));
    const { orders } = await createOrders(api, bodies, { concurrency: 16 });
    const ids = orders.map((order) => order.id);
    // Each open transaction is a payment holding its row lock across the gateway call.
    const inFlight = await eventually('payments in flight at the gateway', async () => {
      const open = await openTransactions(stack.db);
      return open >= 5 ? open : undefined;
    });
    await stack.paymentsWorker.kill();
    const killedAt = Date.now();
    await downtime(3_000);
    await stack.paymentsWorker.start();
    const backAt = Date.now();
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 120_000);

    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('3 payments worker SIGKILL', report, {
        faults: [
          'payments-worker SIGKILL',
          `${((backAt - killedAt) / 1000).toFixed(1)}s down`,
          'gateway failure rate 0.3',
        ],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          payments_in_flight_at_kill: inFlight,
          gateway_charge_requests: report.gatewayChargeRequests,
          gateway_charges: report.gatewayCharges,
          delivered: report.finalStates.delivered ?? 0,
          cancelled: report.finalStates.cancelled ?? 0,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.gatewayCharges).toBe(report.finalStates.delivered);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
