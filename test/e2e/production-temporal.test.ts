// The production Temporal server (temporal-server 1.32.1 persisting in PostgreSQL, configured only by the docker
// image's environment variables and deploy/'s dynamic config, as docker-compose runs it) under the key faults:
// the server itself SIGKILLed and stopped, the orders worker SIGKILLed, and every process started while Temporal or
// PostgreSQL is down (blips.ts). E2E_TEMPORAL=real runs every other e2e file against it too.
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { startedDuringOutage, temporalRestartedWhileConnecting } from './blips';
import { FiguresBook, figuresFrom } from './figures';
import { deliveriesAfter, inState, mistimed, waitUntilAllFinal, waitUntilMidFlight } from './order-probes';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { TemporalProductionServer } from '../../dev/stack/temporal-server';
import { createOrders, downtime, mixedOrders, scenarioCustomer } from './workload';
import { OUTAGE_MS, OUTAGE_ORDERS as ORDERS, temporalOutageScenario } from './temporal-outage';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(300_000);

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;
let temporal: TemporalProductionServer;

beforeAll(async () => {
  // A slow gateway keeps orders waiting on payment while others already wait on their delivery timer.
  stack = await startStack(
    'production-temporal',
    { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '1000' } },
    {
      temporal: 'real',
    },
  );
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
  if (!(stack.temporal instanceof TemporalProductionServer)) throw new Error('expected the production server');
  temporal = stack.temporal;
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it.each([
  ['14 production Temporal SIGKILL', 'temporal-server SIGKILLed', () => temporal.kill()],
  ['15 production Temporal restart', 'temporal-server stopped', () => temporal.stop()],
])(
  '%s: resumes every workflow and timer from PostgreSQL when the server is down and started again',
  (scenario, fault, takeDown) =>
    withLogsOnFailure(stack, () =>
      temporalOutageScenario({ stack, api, figures, scenario, fault, takeDown, recoveryTimeoutMs: 150_000 }),
    ),
);

it('finishes every order after the orders worker is SIGKILLed against the production server', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('prod-orders-kill');
    const { orders } = await createOrders(api, mixedOrders(customer, ORDERS), { concurrency: 16 });
    const ids = orders.map((order) => order.id);
    const atKill = await waitUntilMidFlight(stack.db, ids);
    await stack.ordersWorker.kill();
    const killedAt = Date.now();
    await downtime(OUTAGE_MS);
    await stack.ordersWorker.start();
    const backAt = Date.now();
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 120_000);

    const deliveries = await deliveriesAfter(stack.db, inState(atKill, 'confirmed'), backAt, DELIVERY_DELAY_SECONDS);
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('16 orders worker SIGKILL, production Temporal', report, {
        faults: ['orders-worker SIGKILL', `${((backAt - killedAt) / 1000).toFixed(1)}s down`],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: { waiting_on_timer_at_kill: inState(atKill, 'confirmed').length },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.finalStates).toEqual({ delivered: ORDERS * 0.75, cancelled: ORDERS * 0.25 });
    expect(mistimed(deliveries)).toEqual([]);
    expect(stack.unexpectedExits()).toEqual([]);
  }));

it.each([
  ['20 started while production Temporal is down', 'temporal'],
  ['21 started while PostgreSQL (and so production Temporal) is down', 'postgres'],
] as const)('%s: every process waits for it and works once it is back, every order final', (scenario, dependency) =>
  withLogsOnFailure(stack, () => startedDuringOutage({ stack, api, figures, scenario }, dependency)),
);

it('22 production Temporal restarted while the workers connect: both end polling on their own', () =>
  withLogsOnFailure(stack, () =>
    temporalRestartedWhileConnecting({
      stack,
      api,
      figures,
      scenario: '22 production Temporal restarted while connecting',
    }),
  ));
