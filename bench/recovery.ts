// Recovery: orders confirmed and waiting for delivery, the orders worker killed (SIGKILL), the deliveries falling due
// while it is down, then the time from its restart until every overdue order is delivered.
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from './load';
import { benchCustomer, orderBody, startOrderWorkflow, stateCounts, waitForCounts } from './orders';
import type { Progress } from './progress';
import type { BenchTarget, WorkerControl } from './target';
import { deliveryRows } from './timers';

export interface RecoveryPlan {
  orders: number;
  concurrency: number;
  /** Orders come through their payment within this time at the rate measured before (sized by the caller). */
  deliveryDelaySeconds: number;
  timeoutMs: number;
}

export interface RecoveryResult {
  orders: number;
  deliveryDelaySeconds: number;
  /** Confirmed and not delivered when the worker was killed, all of them due before it came back. */
  overdue: number;
  deliveredBeforeKill: number;
  /** Worker down, milliseconds (kill → restart). */
  downMs: number;
  /** Restart → the worker says it is started. */
  workerReadyMs: number;
  /** Restart → the first overdue order delivered. */
  firstDeliveryMs: number | undefined;
  /** Restart → every overdue order delivered; undefined when the timeout came first. */
  allDeliveredMs: number | undefined;
  /** Overdue orders still not delivered at the end. */
  stillOverdue: number;
}

export async function measureRecovery(
  target: BenchTarget & { ordersWorker: WorkerControl },
  runId: string,
  plan: RecoveryPlan,
  progress: Progress,
): Promise<RecoveryResult> {
  const customerId = benchCustomer('recovery', runId);
  const label = 'recovery';
  const started = Date.now();
  await closedLoop({
    concurrency: plan.concurrency,
    count: plan.orders,
    maxMs: plan.timeoutMs,
    operation: async (index) => {
      await startOrderWorkflow(target.client, orderBody(customerId, index), plan.deliveryDelaySeconds);
    },
    onProgress: (done) => progress.update(`${label}: ${done}/${plan.orders} orders started`),
  });
  await waitForCounts(target.db, customerId, (c) => c.confirmed + c.delivered >= plan.orders, {
    timeoutMs: plan.timeoutMs - (Date.now() - started),
    onPoll: (c) => progress.update(`${label}: ${c.confirmed + c.delivered}/${plan.orders} confirmed`),
  });

  await target.ordersWorker.kill();
  const killedAt = Date.now();
  const rows = await deliveryRows(target.db, customerId);
  const deliveredBeforeKill = rows.filter((row) => row.deliveredAt !== undefined).length;
  const overdueRows = rows.filter((row) => row.deliveredAt === undefined);
  // Down until the last of them is due, and a second more: at the restart every one is overdue.
  const allDue = Math.max(...overdueRows.map((row) => row.confirmedAt)) + plan.deliveryDelaySeconds * 1000 + 1_000;
  while (Date.now() < allDue) {
    progress.update(`${label}: orders worker killed, ${overdueRows.length} deliveries falling due (${Math.ceil((allDue - Date.now()) / 1000)} s)`);
    await sleep(Math.min(500, Math.max(allDue - Date.now(), 0)));
  }

  const restartedAt = Date.now();
  const workerReadyMs = await target.ordersWorker.start();
  let firstDeliveryMs: number | undefined;
  const done = await waitForCounts(target.db, customerId, (c) => c.delivered >= rows.length, {
    timeoutMs: plan.timeoutMs,
    onPoll: (c) => {
      const fresh = c.delivered - deliveredBeforeKill;
      if (fresh > 0) firstDeliveryMs ??= Date.now() - restartedAt;
      progress.update(`${label}: worker restarted, ${fresh}/${overdueRows.length} overdue orders delivered`);
    },
  });
  const allDeliveredMs = done ? Date.now() - restartedAt : undefined;
  const counts = await stateCounts(target.db, customerId);
  progress.log(
    `${label}: ${overdueRows.length} overdue orders, all delivered ${allDeliveredMs === undefined ? 'NOT within the timeout' : `${(allDeliveredMs / 1000).toFixed(1)} s after the restart`}`,
  );
  return {
    orders: rows.length,
    deliveryDelaySeconds: plan.deliveryDelaySeconds,
    overdue: overdueRows.length,
    deliveredBeforeKill,
    downMs: restartedAt - killedAt,
    workerReadyMs,
    firstDeliveryMs,
    allDeliveredMs,
    stillOverdue: counts.confirmed,
  };
}
