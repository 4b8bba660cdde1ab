// Worker crashes: either worker killed with SIGKILL mid-flow and restarted; every order still ends once, correctly.
import { eventually } from '../../dev/support/poll';
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import {
  deliveriesAfter,
  inState,
  maxLateSeconds,
  mistimed,
  openTransactions,
  waitUntilAllFinal,
  waitUntilMidFlight,
} from './order-probes';
import { createOrders, downtime, mixedOrders, orderBody, scenarioCustomer } from './workload';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(240_000);

const ORDERS = 60;
/** Fewer orders where every crashed payment waits out its 30 s start-to-close timeout before a retry. */
const PAYMENT_ORDERS = 40;
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
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it('finishes every order after the orders worker is SIGKILLed, delivering what fell due while it was down once it is back', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('orders-kill');
    const { orders } = await createOrders(api, mixedOrders(customer, ORDERS), { concurrency: 16 });
    const ids = orders.map((order) => order.id);
    const atKill = await waitUntilMidFlight(stack.db, ids);
    await stack.ordersWorker.kill();
    const killedAt = Date.now();
    await downtime(8_000);
    await stack.ordersWorker.start();
    const backAt = Date.now();
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 90_000);

    const onTimer = inState(atKill, 'confirmed');
    const deliveries = await deliveriesAfter(stack.db, onTimer, backAt, DELIVERY_DELAY_SECONDS);
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('2 orders worker SIGKILL', report, {
        faults: ['orders-worker SIGKILL', `${((backAt - killedAt) / 1000).toFixed(1)}s down`],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          waiting_on_payment_at_kill: inState(atKill, 'created').length,
          waiting_on_timer_at_kill: onTimer.length,
          fell_due_while_down: deliveries.filter((d) => d.dueAt < backAt).length,
          max_delivery_after_back: `${maxLateSeconds(deliveries)}s`,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.finalStates).toEqual({ delivered: ORDERS * 0.75, cancelled: ORDERS * 0.25 });
    expect(deliveries.filter((d) => d.dueAt < backAt).length).toBeGreaterThan(0);
    expect(mistimed(deliveries)).toEqual([]);
    expect(deliveries.filter((d) => d.lateMs > MAX_CATCH_UP_MS)).toEqual([]);
    expect(stack.unexpectedExits()).toEqual([]);
  }));

it('charges no order twice when the payments worker is SIGKILLed mid-payment, and finishes every order', () =>
  withLogsOnFailure(stack, async () => {
    await stack.paymentsWorker.restart({
      PAYMENT_GATEWAY_DELAY_MS: '1000',
      PAYMENT_FAILURE_RATE: '0.2',
      PAYMENT_APPROVAL_RATE: '0.7',
    });
    const started = Date.now();
    const customer = scenarioCustomer('payments-kill');
    const bodies = Array.from({ length: PAYMENT_ORDERS }, (_, i) => orderBody(customer, 'tok_visa', i));
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
          'gateway failure rate 0.2',
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
    expect(report.orders).toBe(PAYMENT_ORDERS);
    expect(report.gatewayCharges).toBe(report.finalStates.delivered);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
