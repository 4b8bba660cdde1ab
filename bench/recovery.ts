// Recovery: orders confirmed and waiting for delivery, the orders worker killed (SIGKILL), the deliveries falling due
// while it is down, then the time from its restart until every overdue order is delivered.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { orderWorkflowId } from '../src/domain';
import { mapConcurrent } from '../dev/support/map-concurrent';
import { benchCustomer, startOrdersPaced, stateCounts, waitForCounts } from './orders';
import type { Progress } from './progress';
import { distribution, type Distribution } from './stats';
import type { BenchTarget, WorkerControl } from './target';
import { deliveryRows } from './timers';

export interface RecoveryPlan {
  orders: number;
  concurrency: number;
  /** Orders per second this stack confirms (measured before): sizes the time until they all fall due. */
  confirmRate: number;
  timeoutMs: number;
}

export interface RecoveryResult {
  orders: number;
  /** Each order's delay is chosen so that all fall due at the same moment, after every one was confirmed. */
  deliveryDelaySeconds: { min: number; max: number };
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
  /** Restart → each overdue order's delivery, milliseconds. */
  deliveryAfterRestartMs: Distribution;
  /**
   * A sample of overdue orders, from their histories: how many had a workflow task time out before it started (it
   * waited on the killed worker's sticky queue until that queue's schedule-to-start timeout handed it on) or after it
   * started (the killed worker had taken it).
   */
  taskTimeouts: { sampled: number; scheduleToStart: number; startToClose: number };
}

// temporal.api.enums.v1.TimeoutType values.
const START_TO_CLOSE = 1;
const SCHEDULE_TO_START = 2;

async function workflowTaskTimeouts(client: Client, orderId: string): Promise<number[]> {
  const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const type = e.workflowTaskTimedOutEventAttributes?.timeoutType;
    return type === undefined || type === null ? [] : [Number(type)];
  });
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
  // All due together: soon after the last is confirmed (at the measured rate, with a margin), so the outage is short.
  const dueAt = started + Math.ceil((plan.orders / Math.max(plan.confirmRate, 1)) * 1.2 + 3) * 1000;
  const delays = await startOrdersPaced({
    client: target.client,
    db: target.db,
    customerId,
    count: plan.orders,
    concurrency: plan.concurrency,
    maxMs: plan.timeoutMs,
    deliveryDelaySeconds: () => Math.max(1, Math.ceil((dueAt - Date.now()) / 1000)),
    onProgress: (started, confirmed) =>
      progress.update(`${label}: ${started}/${plan.orders} orders started, ${confirmed} confirmed`),
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
  const allDue = Math.max(...overdueRows.map((row) => row.confirmedAt + (delays.get(row.id) ?? 0) * 1000)) + 1_000;
  while (Date.now() < allDue) {
    progress.update(
      `${label}: orders worker killed, ${overdueRows.length} deliveries falling due (${Math.ceil((allDue - Date.now()) / 1000)} s)`,
    );
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
  const overdueIds = new Set(overdueRows.map((row) => row.id));
  const after = (await deliveryRows(target.db, customerId)).filter((row) => overdueIds.has(row.id));
  const sample = after.filter((_, index) => index % Math.max(1, Math.floor(after.length / 20)) === 0).slice(0, 20);
  const timeouts = await mapConcurrent(sample, 8, (row) => workflowTaskTimeouts(target.client, row.id));
  progress.log(
    `${label}: ${overdueRows.length} overdue orders, all delivered ${allDeliveredMs === undefined ? 'NOT within the timeout' : `${(allDeliveredMs / 1000).toFixed(1)} s after the restart`}`,
  );
  return {
    orders: rows.length,
    deliveryDelaySeconds: { min: Math.min(...delays.values()), max: Math.max(...delays.values()) },
    overdue: overdueRows.length,
    deliveredBeforeKill,
    downMs: restartedAt - killedAt,
    workerReadyMs,
    firstDeliveryMs,
    allDeliveredMs,
    stillOverdue: counts.confirmed,
    deliveryAfterRestartMs: distribution(
      after.flatMap((row) => (row.deliveredAt === undefined ? [] : [row.deliveredAt - restartedAt])),
    ),
    taskTimeouts: {
      sampled: sample.length,
      scheduleToStart: timeouts.filter((types) => types.includes(SCHEDULE_TO_START)).length,
      startToClose: timeouts.filter((types) => types.includes(START_TO_CLOSE)).length,
    },
  };
}
