// One scenario for both Temporal servers (dev and production): orders mid-flight, the server taken down, then
// started again; every workflow and timer must resume from its store, nothing lost, nothing done twice.
import { eventually } from '../../dev/support/poll';
import { DELIVERY_DELAY_SECONDS, type Stack } from '../../dev/stack/stack';
import type { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { figuresFrom, type FiguresBook } from './figures';
import {
  deliveriesAfter,
  inState,
  maxLateSeconds,
  mistimed,
  waitUntilAllFinal,
  waitUntilMidFlight,
} from './order-probes';
import { createOrders, downtime, mixedOrders, scenarioCustomer } from './workload';

export const OUTAGE_ORDERS = 60;
export const OUTAGE_MS = 5_000;

/** Polls /readyz until it answers `status`; resolves with the problem's detail. */
export const readinessBecomes = (api: ApiClient, status: number, timeoutMs: number) =>
  eventually(
    `/readyz to answer ${status}`,
    async () => {
      const readiness = await api.readiness();
      return readiness.status === status ? readiness.detail : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );

export interface TemporalOutage {
  stack: Stack;
  api: ApiClient;
  figures: FiguresBook;
  /** The figures' row name, e.g. `4 Temporal server restart`. */
  scenario: string;
  /** How the server goes down, for the figures, e.g. `temporal stop`. */
  fault: string;
  takeDown(): Promise<void>;
  recoveryTimeoutMs: number;
}

export async function temporalOutageScenario(outage: TemporalOutage): Promise<void> {
  const { stack, api, figures, scenario, fault, takeDown, recoveryTimeoutMs } = outage;
  const started = Date.now();
  const customer = scenarioCustomer(`temporal-outage-${scenario.split(' ')[0]}`);
  const { orders } = await createOrders(api, mixedOrders(customer, OUTAGE_ORDERS), { concurrency: 16 });
  const ids = orders.map((order) => order.id);
  const atStop = await waitUntilMidFlight(stack.db, ids);
  const stoppedAt = Date.now();
  await takeDown();
  const whileDown = await readinessBecomes(api, 503, 30_000);
  await downtime(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
  await stack.temporal.start();
  const backAt = Date.now();
  const recoveryMs = await waitUntilAllFinal(stack.db, ids, recoveryTimeoutMs);
  await readinessBecomes(api, 200, 30_000);

  const deliveries = await deliveriesAfter(stack.db, inState(atStop, 'confirmed'), backAt, DELIVERY_DELAY_SECONDS);
  const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
  figures.record(
    figuresFrom(scenario, report, {
      faults: [fault, `${((backAt - stoppedAt) / 1000).toFixed(1)}s down`],
      recoveryMs,
      durationMs: Date.now() - started,
      extra: {
        waiting_on_payment_at_stop: inState(atStop, 'created').length,
        waiting_on_timer_at_stop: deliveries.length,
        max_delivery_after_back: `${maxLateSeconds(deliveries)}s`,
      },
    }),
  );

  expect(whileDown).toMatch(/temporal/);
  expect(findings(report)).toEqual([]);
  expect(report.orders).toBe(OUTAGE_ORDERS);
  expect(report.finalStates).toEqual({ delivered: OUTAGE_ORDERS * 0.75, cancelled: OUTAGE_ORDERS * 0.25 });
  expect(mistimed(deliveries)).toEqual([]);
  expect(stack.unexpectedExits()).toEqual([]);
}
