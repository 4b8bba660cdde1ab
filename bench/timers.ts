// Timer accuracy: how late each delivery came (delivered at − confirmed at − delay), and, for a sample, where the
// lateness arose: before the durable timer started, in the server's timer, or after it fired.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { Db } from '../src/db/knex';
import { orderWorkflowId } from '../src/domain';
import { mapConcurrent } from '../dev/support/map-concurrent';
import { distribution, type Distribution } from './stats';

export interface DeliveryRow {
  id: string;
  createdAt: number;
  confirmedAt: number;
  deliveredAt: number | undefined;
}

/** Each order of `customerId` that was confirmed, with its transition times as its workflow recorded them. */
export async function deliveryRows(db: Db, customerId: string): Promise<DeliveryRow[]> {
  const rows: { id: string; created_at: Date; confirmed_at: Date; delivered_at: Date | null }[] = await db(
    'orders.orders as o',
  )
    .join('orders.order_events as c', (join) =>
      join.on('c.order_id', 'o.id').andOnVal('c.event', 'transition').andOnVal('c.to_state', 'confirmed'),
    )
    .leftJoin('orders.order_events as d', (join) =>
      join.on('d.order_id', 'o.id').andOnVal('d.event', 'transition').andOnVal('d.to_state', 'delivered'),
    )
    .where('o.customer_id', customerId)
    .select('o.id', 'o.created_at', 'c.at as confirmed_at', 'd.at as delivered_at');
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at.getTime(),
    confirmedAt: row.confirmed_at.getTime(),
    deliveredAt: row.delivered_at?.getTime(),
  }));
}

interface TimerEvents {
  startedAt: number;
  firedAt: number | undefined;
  delayMs: number;
}

/** The delivery timer of an order's workflow, from its history. */
async function timerEvents(client: Client, orderId: string): Promise<TimerEvents | undefined> {
  const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  const events = history.events ?? [];
  const started = events.find((e) => e.timerStartedEventAttributes);
  const fired = events.find((e) => e.timerFiredEventAttributes);
  const timeout = started?.timerStartedEventAttributes?.startToFireTimeout;
  if (!started || !timeout) return undefined;
  return {
    startedAt: tsToMs(started.eventTime),
    firedAt: fired ? tsToMs(fired.eventTime) : undefined,
    delayMs: tsToMs(timeout),
  };
}

/** The delay an order was started with (the API's DELIVERY_DELAY_SECONDS when it was created), from its timer. */
export async function deliveryDelayMsOf(client: Client, orderId: string): Promise<number | undefined> {
  return (await timerEvents(client, orderId))?.delayMs;
}

export interface TimerAccuracy {
  delayMs: number;
  delivered: number;
  /** delivered at − confirmed at − delay, milliseconds. */
  latenessMs: Distribution;
  /** Where the lateness of a sample of orders arose, from their histories. */
  breakdown: {
    sampled: number;
    /** confirmed at → timer started: recording `confirmed` and the workflow task that starts the timer. */
    beforeTimerMs: Distribution;
    /** timer fired − timer started − delay: the server's own timer. */
    timerMs: Distribution;
    /** timer fired → delivered at: the workflow task that reacts to the timer. */
    afterFireMs: Distribution;
  };
}

export async function timerAccuracy(
  client: Client,
  rows: readonly DeliveryRow[],
  delayMs: number,
  sampleSize: number,
): Promise<TimerAccuracy> {
  const delivered = rows.filter((row): row is DeliveryRow & { deliveredAt: number } => row.deliveredAt !== undefined);
  const step = Math.max(1, Math.floor(delivered.length / sampleSize));
  const sample = delivered.filter((_, index) => index % step === 0).slice(0, sampleSize);
  const timers = await mapConcurrent(sample, 8, async (row) => ({ row, timer: await timerEvents(client, row.id) }));
  const complete = timers.filter(
    (t): t is { row: (typeof delivered)[number]; timer: TimerEvents & { firedAt: number } } =>
      t.timer?.firedAt !== undefined,
  );
  return {
    delayMs,
    delivered: delivered.length,
    latenessMs: distribution(delivered.map((row) => row.deliveredAt - row.confirmedAt - delayMs)),
    breakdown: {
      sampled: complete.length,
      beforeTimerMs: distribution(complete.map(({ row, timer }) => timer.startedAt - row.confirmedAt)),
      timerMs: distribution(complete.map(({ timer }) => timer.firedAt - timer.startedAt - timer.delayMs)),
      afterFireMs: distribution(complete.map(({ row, timer }) => row.deliveredAt - timer.firedAt)),
    },
  };
}
