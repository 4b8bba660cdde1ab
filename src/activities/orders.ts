// Order persistence: every state change is one guarded, idempotent transaction.
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

export function createOrderActivities({ db }: { db: Db }): OrderActivities {
  return {
    async recordOrderCreated({ order, requestFingerprint, idempotencyKey }: OrderCreatedRecord): Promise<RecordedAt> {
      return db.transaction(async (trx) => {
        const inserted = await trx(ORDERS)
          .insert({
            id: order.id,
            customer_id: order.customerId,
            currency: order.currency,
            items: JSON.stringify(order.items),
            amount: order.amount,
            state: 'created',
            cancel_reason: null,
            payment_status: order.payment.status,
            payment_id: order.payment.id,
            idempotency_key: idempotencyKey,
            request_fingerprint: requestFingerprint,
            created_at: order.createdAt,
            updated_at: order.createdAt,
          })
          .onConflict('id')
          .ignore()
          .returning('id');
        if (inserted.length === 0) {
          const stored = await trx(ORDERS).where({ id: order.id }).first<{ created_at: Date }>('created_at');
          return { at: stored.created_at.toISOString() };
        }
        await trx(EVENTS).insert({
          order_id: order.id,
          event: 'transition',
          from_state: null,
          to_state: 'created',
          reason: null,
          dedupe_key: 'transition:created',
          at: order.createdAt,
        });
        return { at: order.createdAt };
      });
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
      return db.transaction(async (trx) => {
        const updated = await trx(ORDERS)
          .where({ id: orderId, state: from })
          .update({
            state: to,
            cancel_reason: to === 'cancelled' ? reason : null,
            payment_status: payment.status,
            payment_id: payment.id,
            updated_at: at,
            version: trx.raw('version + 1'),
          });
        if (updated === 1) {
          await trx(EVENTS).insert({
            order_id: orderId,
            event: 'transition',
            from_state: from,
            to_state: to,
            reason,
            requested_by: requestedBy,
            dedupe_key: `transition:${to}`,
            at,
          });
        }
        // Not taken: this decision was already recorded (a retry), or an earlier try of the task committed another one.
        return committedSince(trx, orderId, from, to);
      });
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
    state: row.state,
    cancelReason: row.cancel_reason,
    payment: { status: row.payment_status, id: row.payment_id },
    updatedAt: row.updated_at.toISOString(),
    transitions: events.map((event) => ({ ...toHistoryEntry(event), event: 'transition' })),
  };
}
