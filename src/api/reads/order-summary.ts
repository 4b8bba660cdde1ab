// The operators' overview: orders by current state, and orders created and delivered per minute of the last minutes.
import type { Db } from '../../db/knex';
import { EVENTS, ORDERS } from '../../db/orders-schema';
import { orderStates, type OrderState } from '../../domain';
import type { OrderReads } from './order-reads';

/** Minutes of throughput in a summary, the current one included. */
export const THROUGHPUT_MINUTES = 15;
const MINUTE_MS = 60_000;

export interface MinuteThroughput {
  /** The minute's start. */
  minute: string;
  created: number;
  delivered: number;
}

export interface OrderSummary {
  counts: Record<OrderState, number>;
  /** Oldest minute first; minutes with nothing in them are zeros. */
  throughput: MinuteThroughput[];
}

type MinuteCount = { minute: Date; count: string | number };

export function createOrderSummary({ db, reads }: { db: Db; reads: OrderReads }) {
  return async function summarizeOrders(now = new Date()): Promise<OrderSummary> {
    const since = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - (THROUGHPUT_MINUTES - 1) * MINUTE_MS);
    const perMinute = (column: string) =>
      [db.raw(`date_trunc('minute', ${column}) as minute`), db.raw('count(*) as count')] as const;
    const byMinute = (rows: MinuteCount[]) => new Map(rows.map((row) => [row.minute.getTime(), Number(row.count)]));
    const [counts, created, delivered] = await Promise.all([
      reads.countByState(),
      db(ORDERS)
        .where('created_at', '>=', since)
        .select<MinuteCount[]>(...perMinute('created_at'))
        .groupByRaw('1')
        .then(byMinute),
      db(EVENTS)
        .where({ to_state: 'delivered', event: 'transition' })
        .where('at', '>=', since)
        .select<MinuteCount[]>(...perMinute('at'))
        .groupByRaw('1')
        .then(byMinute),
    ]);
    return {
      counts: Object.fromEntries(orderStates.map((state) => [state, counts.get(state) ?? 0])) as Record<
        OrderState,
        number
      >,
      throughput: Array.from({ length: THROUGHPUT_MINUTES }, (_, i) => {
        const minute = since.getTime() + i * MINUTE_MS;
        return {
          minute: new Date(minute).toISOString(),
          created: created.get(minute) ?? 0,
          delivered: delivered.get(minute) ?? 0,
        };
      }),
    };
  };
}

export type SummarizeOrders = ReturnType<typeof createOrderSummary>;
