// Lifecycle throughput: a fixed number of orders created through the API at a fixed concurrency (cut at a deadline),
// each going created → confirmed → delivered, with the backlog (orders accepted and not yet final) sampled every
// second until it is gone. A 201 does not wait for the orders worker, so the creates run ahead of the deliveries:
// end-to-end orders/s is the stack's throughput, set beside as many one-activity workflows started the same way.
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop, type LoopResult } from './load';
import { benchCustomer, createOrderViaApi, finalCount, orderBody, stateCounts } from './orders';
import type { Progress } from './progress';
import { perSecond } from './stats';
import type { BenchTarget } from './target';
import { deliveryDelayMsOf, deliveryRows, type DeliveryRow } from './timers';

export interface LifecyclePlan {
  concurrency: number;
  orders: number;
  /** No create starts after this long. */
  loadMs: number;
  drainTimeoutMs: number;
}

export interface BacklogPoint {
  /** Since the load started, milliseconds. */
  atMs: number;
  /** Orders answered 201 so far. */
  accepted: number;
  /** Rows in each state: an accepted order without a row yet is in none of them. */
  created: number;
  confirmed: number;
  final: number;
}

/** Orders accepted and not final. */
export function backlogOf(point: BacklogPoint): number {
  return Math.max(0, point.accepted - point.final);
}

export interface LifecycleResult {
  customerId: string;
  concurrency: number;
  load: LoopResult;
  backlog: BacklogPoint[];
  /** From the end of the load until nothing was open; undefined when the drain timed out. */
  drainMs: number | undefined;
  rows: DeliveryRow[];
  /** The delay the orders were created with (the API's DELIVERY_DELAY_SECONDS), read from an order's timer. */
  deliveryDelayMs: number;
  createdPerSecond: number;
  /** Deliveries per second from the first delivery to the last. */
  sustainedDeliveredPerSecond: number;
  /** All orders over first create → last delivery, the delivery delay taken off (it is latency, not work). */
  endToEndPerSecond: number;
}

export async function measureLifecycle(
  target: BenchTarget,
  runId: string,
  { concurrency, orders, loadMs, drainTimeoutMs }: LifecyclePlan,
  plannedDelayMs: number,
  progress: Progress,
): Promise<LifecycleResult> {
  const customerId = benchCustomer('lifecycle', runId);
  const backlog: BacklogPoint[] = [];
  const started = Date.now();
  let loading = true;
  let accepted = 0;
  const show = (point: BacklogPoint) => {
    const phase = loading ? `${accepted}/${orders} created` : 'draining';
    progress.update(`lifecycle c=${concurrency}: ${phase}, backlog ${backlogOf(point)}, delivered ${point.final}`);
  };
  const sampleBacklog = async (): Promise<BacklogPoint> => {
    const counts = await stateCounts(target.db, customerId);
    const point = {
      atMs: Date.now() - started,
      accepted,
      created: counts.created,
      confirmed: counts.confirmed,
      final: counts.delivered + counts.cancelled,
    };
    backlog.push(point);
    show(point);
    return point;
  };
  const sampling = (async () => {
    while (loading) {
      await sampleBacklog();
      await sleep(1_000);
    }
  })();

  const load = await closedLoop({
    concurrency,
    count: orders,
    maxMs: loadMs,
    operation: async (index) => {
      await createOrderViaApi(target.endpoint, orderBody(customerId, index));
      accepted++;
    },
  });
  loading = false;
  await sampling;

  const loadEnd = load.startedAt + load.elapsedMs;
  let drainMs: number | undefined;
  for (;;) {
    const point = await sampleBacklog();
    if (backlogOf(point) === 0) {
      drainMs = Date.now() - loadEnd;
      break;
    }
    if (Date.now() - loadEnd > drainTimeoutMs) break;
    await sleep(1_000);
  }
  const open = load.completed - finalCount(await stateCounts(target.db, customerId));
  progress.log(
    `lifecycle c=${concurrency}: ${load.completed} orders created in ${(load.elapsedMs / 1000).toFixed(1)} s, ${open} not final after the drain`,
  );

  const rows = await deliveryRows(target.db, customerId);
  // An API the bench did not start may use another delay than the one planned.
  const delivered = rows.find((row) => row.deliveredAt !== undefined);
  const deliveryDelayMs = (delivered && (await deliveryDelayMsOf(target.client, delivered.id))) ?? plannedDelayMs;
  const deliveredTimes = rows.flatMap((row) => (row.deliveredAt === undefined ? [] : [row.deliveredAt]));
  const firstDelivery = Math.min(...deliveredTimes);
  const lastDelivery = Math.max(...deliveredTimes);
  return {
    customerId,
    concurrency,
    load,
    backlog,
    drainMs,
    rows,
    deliveryDelayMs,
    createdPerSecond: perSecond(load.completed, load.elapsedMs),
    sustainedDeliveredPerSecond: perSecond(deliveredTimes.length - 1, lastDelivery - firstDelivery),
    endToEndPerSecond: perSecond(deliveredTimes.length, lastDelivery - load.startedAt - deliveryDelayMs),
  };
}
