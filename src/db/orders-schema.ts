// The `orders` schema, for the order activities that write it and the API that reads it: the tables' names, their
// rows' shapes, and how rows become the order the API and the workflow show.
import type { HistoryEntry, OrderItem, OrderState, OrderView, PaymentStatus } from '../domain';

export const ORDERS = 'orders.orders';
export const EVENTS = 'orders.order_events';

export interface OrderRow {
  id: string;
  customer_id: string;
  currency: string;
  items: OrderItem[];
  amount: number;
  state: OrderState;
  cancel_reason: string | null;
  payment_status: PaymentStatus;
  payment_id: string | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface EventRow {
  id: number;
  order_id: string;
  event: HistoryEntry['event'];
  from_state: OrderState | null;
  to_state: OrderState;
  reason: string | null;
  /** Who asked for the cancel behind the event (a token subject). */
  requested_by: string | null;
  dedupe_key: string;
  at: Date;
}

export type HistoryRow = Pick<EventRow, 'event' | 'to_state' | 'reason' | 'requested_by' | 'at'>;

export function toHistoryEntry(row: HistoryRow): HistoryEntry {
  return { event: row.event, state: row.to_state, at: row.at.toISOString(), reason: row.reason, by: row.requested_by };
}

export function toOrderView(row: OrderRow, events: HistoryRow[]): OrderView {
  return {
    id: row.id,
    customerId: row.customer_id,
    currency: row.currency,
    items: row.items,
    amount: row.amount,
    state: row.state,
    cancelReason: row.cancel_reason,
    payment: { status: row.payment_status, id: row.payment_id },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    history: events.map(toHistoryEntry),
  };
}
