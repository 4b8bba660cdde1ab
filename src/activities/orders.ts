// Order persistence: every state change is one guarded, idempotent transaction.
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../db/knex';
import type {
  CancelRejectionRecord,
  OrderActivities,
  OrderCreatedRecord,
  RecordedAt,
  TransitionRecord,
} from '../domain';

const ORDERS = 'orders.orders';
const EVENTS = 'orders.order_events';

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

    async recordTransition({ orderId, from, to, reason, payment, at }: TransitionRecord): Promise<RecordedAt> {
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
            dedupe_key: `transition:${to}`,
            at,
          });
          return { at };
        }
        const current = await trx(ORDERS).where({ id: orderId }).first<{ state: string } | undefined>('state');
        // Already in the target state: this is a retry or a replay of a transition that committed.
        if (current?.state === to) return storedEventAt(trx, orderId, `transition:${to}`);
        throw ApplicationFailure.nonRetryable(
          `order ${orderId} is ${current ? current.state : 'not recorded'}; refusing ${from} -> ${to}`,
          ILLEGAL_TRANSITION_ERROR,
        );
      });
    },

    async recordCancelRejected({ orderId, sequence, state, reason, at }: CancelRejectionRecord): Promise<RecordedAt> {
      const inserted = await db(EVENTS)
        .insert({
          order_id: orderId,
          event: 'cancel_rejected',
          from_state: state,
          to_state: state,
          reason,
          dedupe_key: `cancel_rejected:${sequence}`,
          at,
        })
        .onConflict(['order_id', 'dedupe_key'])
        .ignore()
        .returning('id');
      return inserted.length > 0 ? { at } : storedEventAt(db, orderId, `cancel_rejected:${sequence}`);
    },
  };
}

/** The time a write that already happened was recorded (db may be a transaction). */
async function storedEventAt(db: Db, orderId: string, dedupeKey: string): Promise<RecordedAt> {
  const event = await db(EVENTS).where({ order_id: orderId, dedupe_key: dedupeKey }).first<{ at: Date }>('at');
  return { at: event.at.toISOString() };
}
