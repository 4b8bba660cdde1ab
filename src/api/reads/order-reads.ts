// The API's reads: orders and their history from the `orders` schema, written only by the order workflow.
import type { Db } from '../../db/knex';
import { EVENTS, ORDERS, toOrderView, type EventRow, type HistoryRow, type OrderRow } from '../../db/orders-schema';
import type { OrderState, OrderView } from '../../domain';

/** A position in the newest-first listing: the last order of a page. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

export interface OrderFilter {
  state?: OrderState;
  customerId?: string;
  limit: number;
  after?: ListPosition;
}

export interface OrderPage {
  items: OrderView[];
  /** Where the next page starts, or null when this page is the last. */
  next: ListPosition | null;
}

export function createOrderReads(db: Db) {
  async function withHistory(rows: OrderRow[]): Promise<OrderView[]> {
    if (rows.length === 0) return [];
    const events: (HistoryRow & Pick<EventRow, 'order_id'>)[] = await db(EVENTS)
      .whereIn(
        'order_id',
        rows.map((row) => row.id),
      )
      .orderBy('id')
      .select('order_id', 'event', 'to_state', 'reason', 'requested_by', 'at');
    return rows.map((row) =>
      toOrderView(
        row,
        events.filter((event) => event.order_id === row.id),
      ),
    );
  }

  return {
    async findOrder(id: string): Promise<OrderView | undefined> {
      const row: OrderRow | undefined = await db(ORDERS).where({ id }).first();
      return row && (await withHistory([row]))[0];
    },

    async findState(id: string): Promise<OrderState | undefined> {
      const row: Pick<OrderRow, 'state'> | undefined = await db(ORDERS).where({ id }).first('state');
      return row?.state;
    },

    /** undefined: no such order; null: recorded without a fingerprint. */
    async findRequestFingerprint(id: string): Promise<string | null | undefined> {
      const row: Pick<OrderRow, 'request_fingerprint'> | undefined = await db(ORDERS)
        .where({ id })
        .first('request_fingerprint');
      return row?.request_fingerprint;
    },

    /** Newest first, keyset-paginated on (created_at, id), so concurrent inserts never shift a page. */
    async listOrders({ state, customerId, limit, after }: OrderFilter): Promise<OrderPage> {
      const query = db(ORDERS)
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(limit + 1);
      if (state) query.where({ state });
      if (customerId) query.where({ customer_id: customerId });
      if (after) query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [after.createdAt, after.id]);
      const rows: OrderRow[] = await query.select();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: await withHistory(page),
        next: rows.length > limit && last ? { createdAt: last.created_at.toISOString(), id: last.id } : null,
      };
    },

    async countByState(): Promise<Map<OrderState, number>> {
      const rows: { state: OrderState; count: string | number }[] = await db(ORDERS)
        .select('state')
        .count({ count: '*' })
        .groupBy('state');
      return new Map(rows.map((row) => [row.state, Number(row.count)]));
    },
  };
}

export type OrderReads = ReturnType<typeof createOrderReads>;
