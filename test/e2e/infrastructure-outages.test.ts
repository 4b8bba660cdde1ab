// Infrastructure outages: the Temporal server and PostgreSQL each stopped with orders mid-flight, then brought back.
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import {
  deliveriesAfter,
  inState,
  maxLateSeconds,
  mistimed,
  waitUntilAllFinal,
  waitUntilMidFlight,
} from './order-probes';
import { createOrders, downtime, mixedOrders, scenarioCustomer } from './workload';
import { OUTAGE_MS, OUTAGE_ORDERS as ORDERS, readinessBecomes, temporalOutageScenario } from './temporal-outage';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(240_000);

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  // A slow gateway keeps orders waiting on payment while others already wait on their delivery timer.
  stack = await startStack('outages', { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '1000' } });
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it('resumes every workflow and timer when the Temporal server restarts on its state file, losing nothing', () =>
  withLogsOnFailure(stack, () =>
    temporalOutageScenario({
      stack,
      api,
      figures,
      scenario: '4 Temporal server restart',
      fault: 'temporal stop',
      takeDown: () => stack.temporal.stop(),
      recoveryTimeoutMs: 120_000,
    }),
  ));

it('retries activities until PostgreSQL is back, answering 503 on /readyz meanwhile, and recovers', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('postgres-outage');
    const { orders } = await createOrders(api, mixedOrders(customer, ORDERS), { concurrency: 16 });
    const ids = orders.map((order) => order.id);
    const atStop = await waitUntilMidFlight(stack.db, ids);
    const stoppedAt = Date.now();
    await stack.postgres.stop();
    const whileDown = await readinessBecomes(api, 503, OUTAGE_MS);
    const liveWhileDown = await api.status('/healthz');
    await downtime(OUTAGE_MS - (Date.now() - stoppedAt));
    await stack.postgres.start();
    const backAt = Date.now();
    await readinessBecomes(api, 200, 30_000);
    const readyAgainMs = Date.now() - backAt;
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 120_000);

    const deliveries = await deliveriesAfter(stack.db, inState(atStop, 'confirmed'), backAt, DELIVERY_DELAY_SECONDS);
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('5 PostgreSQL outage', report, {
        faults: ['postgres stop', `${((backAt - stoppedAt) / 1000).toFixed(1)}s down`],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          waiting_on_payment_at_stop: inState(atStop, 'created').length,
          waiting_on_timer_at_stop: deliveries.length,
          readyz_200_again_after: `${(readyAgainMs / 1000).toFixed(1)}s`,
          max_delivery_after_back: `${maxLateSeconds(deliveries)}s`,
          gateway_charges: report.gatewayCharges,
        },
      }),
    );

    expect(whileDown).toMatch(/postgres/);
    expect(liveWhileDown).toBe(200);
    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.finalStates).toEqual({ delivered: ORDERS * 0.75, cancelled: ORDERS * 0.25 });
    expect(mistimed(deliveries)).toEqual([]);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
