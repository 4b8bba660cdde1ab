// Lifecycle throughput: orders created through the API at a fixed concurrency for a fixed time, each going created →
// confirmed → delivered, with the backlog (orders not yet final) sampled every second until it is gone.
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop, type LoopResult } from './load';
import { benchCustomer, createOrderViaApi, openCount, orderBody, stateCounts } from './orders';
import type { Progress } from './progress';
import { perSecond } from './stats';
import type { BenchTarget } from './target';
import { deliveryDelayMsOf, deliveryRows, type DeliveryRow } from './timers';

export interface LifecyclePlan {
  concurrency: number;
  loadMs: number;
  drainTimeoutMs: number;
}

export interface BacklogPoint {
  /** Since the load started, milliseconds. */
  atMs: number;
  created: number;
  confirmed: number;
  final: number;
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
  /** Deliveries per second inside the load window, after the first orders had time to come through. */
  sustainedDeliveredPerSecond: number;
  /** All orders over first create → last delivery, the delivery delay taken off (it is latency, not work). */
  endToEndPerSecond: number;
}

export async function measureLifecycle(
  target: BenchTarget,
  runId: string,
  { concurrency, loadMs, drainTimeoutMs }: LifecyclePlan,
  plannedDelayMs: number,
  progress: Progress,
): Promise<LifecycleResult> {
  const customerId = benchCustomer('lifecycle', runId);
  const backlog: BacklogPoint[] = [];
  const started = Date.now();
  let loading = true;
  let created = 0;
  const show = (point: BacklogPoint) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    const phase = loading ? `${elapsed}/${loadMs / 1000} s, ${created} created` : 'draining';
    progress.update(
      `lifecycle c=${concurrency}: ${phase}, backlog ${point.created + point.confirmed}, delivered ${point.final}`,
    );
  };
  const sampleBacklog = async (): Promise<BacklogPoint> => {
    const counts = await stateCounts(target.db, customerId);
    const point = {
      atMs: Date.now() - started,
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
    count: Number.MAX_SAFE_INTEGER,
    maxMs: loadMs,
    operation: async (index) => {
      await createOrderViaApi(target.apiUrl, orderBody(customerId, index));
    },
    onProgress: (done) => (created = done),
  });
  loading = false;
  await sampling;

  const loadEnd = load.startedAt + load.elapsedMs;
  let drainMs: number | undefined;
  for (;;) {
    const point = await sampleBacklog();
    if (point.created + point.confirmed === 0) {
      drainMs = Date.now() - loadEnd;
      break;
    }
    if (Date.now() - loadEnd > drainTimeoutMs) break;
    await sleep(1_000);
  }
  const open = openCount(await stateCounts(target.db, customerId));
  progress.log(
    `lifecycle c=${concurrency}: ${load.completed} orders in ${(load.elapsedMs / 1000).toFixed(0)} s, ${open} still open after the drain`,
  );

  const rows = await deliveryRows(target.db, customerId);
  // An API the bench did not start may use another delay than the one planned.
  const delivered = rows.find((row) => row.deliveredAt !== undefined);
  const deliveryDelayMs = (delivered && (await deliveryDelayMsOf(target.client, delivered.id))) ?? plannedDelayMs;
  const deliveredTimes = rows.flatMap((row) => (row.deliveredAt === undefined ? [] : [row.deliveredAt]));
  // The window opens once the first orders could have been delivered: a create, the delay, some margin.
  const windowStart = load.startedAt + deliveryDelayMs + 2_000;
  const inWindow = deliveredTimes.filter((at) => at >= windowStart && at <= loadEnd).length;
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
    sustainedDeliveredPerSecond: perSecond(inWindow, loadEnd - windowStart),
    endToEndPerSecond: perSecond(deliveredTimes.length, lastDelivery - load.startedAt - deliveryDelayMs),
  };
}
