// Order persistence: every state change is one guarded, idempotent statement.
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../db/knex';
import { EVENTS, ORDERS, toHistoryEntry, type HistoryRow, type OrderRow } from '../db/orders-schema';
import {
  canReach,
  type CancelRejectionRecord,
  type CommittedDecision,
  type OrderActivities,
  type OrderCreatedRecord,
  type OrderState,
  type PaymentSettledRecord,
  type RecordedAt,
  type TransitionRecord,
} from '../domain';

export const ILLEGAL_TRANSITION_ERROR = 'IllegalTransition';

/** The tables an order's writes go to (the bench's insert baseline has copies of its own). */
export interface OrderTables {
  orders: string;
  events: string;
}

const orderTables: OrderTables = { orders: ORDERS, events: EVENTS };

/**
 * The order's row and its `created` event, one statement (one round trip, atomic on its own, as every decision here
 * is). False when the row was there already: a retry.
 */
export async function insertCreatedOrder(
  db: Db,
  { order, requestFingerprint, idempotencyKey }: OrderCreatedRecord,
  { orders, events }: OrderTables = orderTables,
): Promise<boolean> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `WITH inserted AS (
       INSERT INTO ${orders} (id, customer_id, currency, items, amount, state, cancel_reason, payment_status,
                              payment_id, idempotency_key, request_fingerprint, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'created', NULL, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING
       RETURNING id, created_at
     ), recorded AS (
       INSERT INTO ${events} (order_id, event, from_state, to_state, reason, dedupe_key, at)
       SELECT id, 'transition', NULL, 'created', NULL, 'transition:created', created_at FROM inserted
     )
     SELECT created_at FROM inserted`,
    [
      order.id,
      order.customerId,
      order.currency,
      JSON.stringify(order.items),
      order.amount,
      order.payment.status,
      order.payment.id,
      idempotencyKey,
      requestFingerprint,
      order.createdAt,
      order.createdAt,
    ],
  );
  return rows.length > 0;
}

// Guarded by the state it leaves: no row comes back when the order is no longer in it.
const RECORD_TRANSITION = `
  WITH moved AS (
    UPDATE ${ORDERS}
       SET state = ?, cancel_reason = ?, payment_status = ?, payment_id = ?, updated_at = ?, version = version + 1
     WHERE id = ? AND state = ?
    RETURNING id, state, cancel_reason, payment_status, payment_id, updated_at
  ), recorded AS (
    INSERT INTO ${EVENTS} (order_id, event, from_state, to_state, reason, requested_by, dedupe_key, at)
    SELECT id, 'transition', ?::text, ?::text, ?::text, ?::text, ?::text, ?::timestamptz FROM moved
    RETURNING to_state, reason, requested_by, at
  )
  SELECT moved.state, moved.cancel_reason, moved.payment_status, moved.payment_id, moved.updated_at,
         recorded.to_state, recorded.reason, recorded.requested_by, recorded.at
    FROM moved CROSS JOIN recorded`;

export function createOrderActivities({ db }: { db: Db }): OrderActivities {
  return {
    async recordOrderCreated(record: OrderCreatedRecord): Promise<RecordedAt> {
      const { order } = record;
      if (await insertCreatedOrder(db, record)) return { at: order.createdAt };
      // Recorded before (a retry): the time it was first recorded.
      const stored = await db(ORDERS).where({ id: order.id }).first<{ created_at: Date } | undefined>('created_at');
      // The conflict waited for the other write to commit, so its row is there (a retry tries again if not).
      if (!stored) throw new Error(`order ${order.id}: no row after its insert met a conflicting one`);
      return { at: stored.created_at.toISOString() };
    },

    async recordTransition({
      orderId,
      from,
      to,
      reason,
      payment,
      at,
      requestedBy,
    }: TransitionRecord): Promise<CommittedDecision> {
      const { rows } = await db.raw<{ rows: (DecisionRow & HistoryRow)[] }>(RECORD_TRANSITION, [
        to,
        to === 'cancelled' ? reason : null,
        payment.status,
        payment.id,
        at,
        orderId,
        from,
        from,
        to,
        reason,
        requestedBy,
        `transition:${to}`,
        at,
      ]);
      const [taken] = rows;
      // Not taken: this decision was already recorded (a retry), or an earlier try of the task committed another one.
      if (!taken) return committedSince(db, orderId, from, to);
      return {
        ...decisionOf(taken),
        transitions: [{ ...toHistoryEntry({ ...taken, event: 'transition' }), event: 'transition' }],
      };
    },

    async recordPaymentSettled({ orderId, payment, at }: PaymentSettledRecord): Promise<RecordedAt> {
      const [row] = await db(ORDERS)
        .where({ id: orderId, state: 'cancelled' })
        .update({
          payment_status: payment.status,
          payment_id: payment.id,
          // A retry finds the payment already settled and keeps the time it was first recorded.
          updated_at: db.raw('CASE WHEN payment_status = ? THEN updated_at ELSE ?::timestamptz END', [
            payment.status,
            at,
          ]),
          version: db.raw('CASE WHEN payment_status = ? THEN version ELSE version + 1 END', [payment.status]),
        })
        .returning<{ updated_at: Date }[]>('updated_at');
      if (!row) {
        throw ApplicationFailure.nonRetryable(
          `order ${orderId} is not cancelled; refusing to settle its refund`,
          ILLEGAL_TRANSITION_ERROR,
        );
      }
      return { at: row.updated_at.toISOString() };
    },

    async recordCancelRejected({
      orderId,
      requestId,
      state,
      reason,
      at,
      requestedBy,
    }: CancelRejectionRecord): Promise<RecordedAt> {
      const inserted = await db(EVENTS)
        .insert({
          order_id: orderId,
          event: 'cancel_rejected',
          from_state: state,
          to_state: state,
          reason,
          requested_by: requestedBy,
          dedupe_key: `cancel_rejected:${requestId}`,
          at,
        })
        .onConflict(['order_id', 'dedupe_key'])
        .ignore()
        .returning('id');
      return inserted.length > 0 ? { at } : storedEventAt(db, orderId, `cancel_rejected:${requestId}`);
    },
  };
}

/** The time a write that already happened was recorded (db may be a transaction). */
async function storedEventAt(db: Db, orderId: string, dedupeKey: string): Promise<RecordedAt> {
  const event = await db(EVENTS).where({ order_id: orderId, dedupe_key: dedupeKey }).first<{ at: Date }>('at');
  return { at: event.at.toISOString() };
}

type DecisionRow = Pick<OrderRow, 'state' | 'cancel_reason' | 'payment_status' | 'payment_id' | 'updated_at'>;

function decisionOf(row: DecisionRow): Omit<CommittedDecision, 'transitions'> {
  return {
    state: row.state,
    cancelReason: row.cancel_reason,
    payment: { status: row.payment_status, id: row.payment_id },
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * The row's word on a decision from `from`: its current state and the transitions recorded after `from`. Refuses
 * (non-retryable) when the row is not past `from`, which no retry of a decision can explain.
 */
async function committedSince(db: Db, orderId: string, from: OrderState, to: OrderState): Promise<CommittedDecision> {
  const row = await db(ORDERS)
    .where({ id: orderId })
    .first<DecisionRow | undefined>('state', 'cancel_reason', 'payment_status', 'payment_id', 'updated_at');
  if (!row || !canReach(from, row.state)) {
    throw ApplicationFailure.nonRetryable(
      `order ${orderId} is ${row ? row.state : 'not recorded'}; refusing ${from} -> ${to}`,
      ILLEGAL_TRANSITION_ERROR,
    );
  }
  const fromEvent = db(EVENTS)
    .where({ order_id: orderId, dedupe_key: `transition:${from}` })
    .select('id');
  const events: HistoryRow[] = await db(EVENTS)
    .where({ order_id: orderId, event: 'transition' })
    .where('id', '>', fromEvent)
    .orderBy('id')
    .select('event', 'to_state', 'reason', 'requested_by', 'at');
  return {
    ...decisionOf(row),
    transitions: events.map((event) => ({ ...toHistoryEntry(event), event: 'transition' })),
  };
}
