// The payments service: one payment row per order id, so no retry, replay or duplicate call charges twice.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../db/knex';
import {
  PAYMENT_INVALID_ERROR,
  paymentTokenPattern,
  type OrderPayment,
  type PaymentActivities,
  type PaymentRequest,
  type PaymentResult,
  type PaymentStatus,
  type RefundResult,
} from '../domain';
import type { PaymentGateway } from './gateway';

const PAYMENTS = 'payments.payments';

interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: PaymentStatus;
  amount: number;
}

function invalidPayment(orderId: string, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`payment for order ${orderId} is invalid: ${why}`, PAYMENT_INVALID_ERROR);
}

/** The order's payment row, made by its first charge attempt (`pending`) or by a refund that came first (`voided`). */
function newPaymentRow(payment: OrderPayment, status: PaymentStatus) {
  return {
    order_id: payment.orderId,
    payment_id: `pay_${randomUUID().replaceAll('-', '')}`,
    status,
    amount: payment.amount,
    currency: payment.currency,
    customer_id: payment.customerId,
  };
}

/** How often a gateway call in flight tells Temporal its worker is alive (the workflow allows 2 s between beats). */
const HEARTBEAT_INTERVAL_MS = 500;

export interface PaymentActivitiesDeps {
  db: Db;
  gateway: PaymentGateway;
  /** The running activity's heartbeat; the worker passes @temporalio/activity's. */
  heartbeat?: () => void;
}

export function createPaymentActivities({ db, gateway, heartbeat }: PaymentActivitiesDeps): PaymentActivities {
  /** A gateway call, heartbeating while it lasts: a worker that dies mid-call is noticed in seconds, not at 30 s. */
  async function whileBeating<T>(call: () => Promise<T>): Promise<T> {
    const beat = heartbeat && setInterval(heartbeat, HEARTBEAT_INTERVAL_MS);
    try {
      return await call();
    } finally {
      clearInterval(beat);
    }
  }

  return {
    async processPayment(request: PaymentRequest): Promise<PaymentResult> {
      if (!paymentTokenPattern.test(request.paymentToken)) {
        throw invalidPayment(request.orderId, 'malformed payment token');
      }
      // Committed before any charge: every attempt charges under this one payment id, by which the gateway knows a
      // repeat, so a charge whose answer was lost (a crash, a database outage) is never made a second time.
      await db(PAYMENTS).insert(newPaymentRow(request, 'pending')).onConflict('order_id').ignore();
      // The row lock is held across the gateway call: a concurrent duplicate or a refund waits for this charge's answer.
      const row = await db.transaction(async (trx): Promise<PaymentRow> => {
        const current = await trx(PAYMENTS).where({ order_id: request.orderId }).forUpdate().first<PaymentRow>();
        if (current.status !== 'pending') return current;
        const { outcome, reference } = await whileBeating(() =>
          gateway.charge({
            paymentId: current.payment_id,
            token: request.paymentToken,
            amount: request.amount,
            currency: request.currency,
          }),
        );
        const [answered] = await trx(PAYMENTS)
          .where({ order_id: request.orderId })
          .update({ status: outcome, gateway_reference: reference, updated_at: trx.fn.now() })
          .returning<PaymentRow[]>('*');
        return answered;
      });
      switch (row.status) {
        case 'confirmed':
        case 'declined':
          return { status: row.status, paymentId: row.payment_id };
        case 'invalid':
          throw invalidPayment(request.orderId, 'the gateway refused the payment token');
        default:
          // voided or refunded: the order was cancelled first, so no charge may stand.
          return { status: 'voided', paymentId: row.payment_id };
      }
    },

    async refundPayment(payment: OrderPayment): Promise<RefundResult> {
      return db.transaction(async (trx) => {
        // Voiding first means a charge attempt that arrives later finds the order closed and is refused.
        await trx(PAYMENTS).insert(newPaymentRow(payment, 'voided')).onConflict('order_id').ignore();
        const current = await trx(PAYMENTS).where({ order_id: payment.orderId }).forUpdate().first<PaymentRow>();
        // pending: an attempt died without an answer, so whatever it may have charged is voided at the gateway.
        const reversal =
          current.status === 'confirmed' ? 'refunded' : current.status === 'pending' ? 'voided' : undefined;
        if (!reversal) return { status: current.status, paymentId: current.payment_id };
        await whileBeating(() => gateway.refund({ paymentId: current.payment_id, amount: current.amount }));
        await trx(PAYMENTS)
          .where({ order_id: payment.orderId })
          .update({ status: reversal, refunded_at: trx.fn.now(), updated_at: trx.fn.now() });
        return { status: reversal, paymentId: current.payment_id };
      });
    },
  };
}
