// In-memory stand-ins for the order and payment activities, recording every call.
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  canReach,
  PAYMENT_INVALID_ERROR,
  type CancelRejectionRecord,
  type CommittedDecision,
  type OrderState,
  type PaymentSettledRecord,
  type PaymentView,
  type OrderActivities,
  type OrderCreatedRecord,
  type PaymentActivities,
  type PaymentRequest,
  type PaymentResult,
  type OrderPayment,
  type RefundResult,
  type TransitionRecord,
} from '../../src/domain';

/** The order's rows in memory, with the database's guard: a transition is taken only from the row's current state. */
export class FakeOrderStore implements OrderActivities {
  readonly created: OrderCreatedRecord[] = [];
  /** The transitions the row took, in order. */
  readonly transitions: TransitionRecord[] = [];
  /** Every transition written, taken or not. */
  readonly attempts: TransitionRecord[] = [];
  readonly rejections: CancelRejectionRecord[] = [];
  readonly settlements: PaymentSettledRecord[] = [];
  /** Every attempt to record the order: true when it ran as a local activity. */
  readonly createAttempts: boolean[] = [];
  private row?: { state: OrderState; cancelReason: string | null; payment: PaymentView; updatedAt: string };
  /** Runs before a transition is written; throwing there is a failed write (say, the database is down). */
  beforeTransition: (record: TransitionRecord) => Promise<void> = async () => {};
  /** Runs after a transition committed, before the activity answers: a crash or a signal can come here. */
  afterTransition: (record: TransitionRecord) => Promise<void> = async () => {};
  /** Runs before the order is recorded. */
  beforeCreated: (record: OrderCreatedRecord) => Promise<void> = async () => {};
  beforeSettled: (record: PaymentSettledRecord) => Promise<void> = async () => {};

  recordOrderCreated = async (record: OrderCreatedRecord) => {
    this.createAttempts.push(Context.current().info.isLocal);
    await this.beforeCreated(record);
    if (!this.row) {
      this.created.push(record);
      const { payment, createdAt: updatedAt } = record.order;
      this.row = { state: 'created', cancelReason: null, payment, updatedAt };
    }
    return { at: this.created[0].order.createdAt };
  };
  recordTransition = async (record: TransitionRecord): Promise<CommittedDecision> => {
    await this.beforeTransition(record);
    this.attempts.push(record);
    const row = this.row;
    if (!row) throw ApplicationFailure.nonRetryable(`order ${record.orderId} is not recorded`);
    if (row.state === record.from) {
      this.transitions.push(record);
      const cancelReason = record.to === 'cancelled' ? record.reason : null;
      this.row = { state: record.to, cancelReason, payment: record.payment, updatedAt: record.at };
    } else if (!canReach(record.from, row.state)) {
      throw ApplicationFailure.nonRetryable(`order is ${row.state}; refusing ${record.from} -> ${record.to}`);
    }
    await this.afterTransition(record);
    const since = this.transitions.findIndex((t) => t.from === record.from);
    return {
      ...this.row!,
      transitions: this.transitions
        .slice(since)
        .map(({ to, at, reason, requestedBy: by }) => ({ event: 'transition' as const, state: to, at, reason, by })),
    };
  };
  recordPaymentSettled = async (record: PaymentSettledRecord) => {
    await this.beforeSettled(record);
    this.settlements.push(record);
    this.row = { ...this.row!, payment: record.payment };
    return { at: record.at };
  };
  recordCancelRejected = async (record: CancelRejectionRecord) => {
    if (!this.rejections.some((r) => r.requestId === record.requestId)) this.rejections.push(record);
    return { at: record.at };
  };

  /** The states the row went through. */
  path(): string[] {
    return ['created', ...this.transitions.map((t) => t.to)];
  }

  state(): OrderState | undefined {
    return this.row?.state;
  }
}

export class FakePayments implements PaymentActivities {
  readonly charges: PaymentRequest[] = [];
  readonly refunds: OrderPayment[] = [];
  /** How each charge attempt answers; the default approves. */
  charge: (request: PaymentRequest, attempt: number) => Promise<PaymentResult> = async () => ({
    status: 'confirmed',
    paymentId: 'pay_1',
  });
  refund: (request: OrderPayment) => Promise<RefundResult> = async () => ({ status: 'refunded', paymentId: 'pay_1' });

  processPayment = async (request: PaymentRequest) => {
    this.charges.push(request);
    return this.charge(request, this.charges.length);
  };
  refundPayment = async (request: OrderPayment) => {
    this.refunds.push(request);
    return this.refund(request);
  };
}

export function invalidToken(): never {
  throw ApplicationFailure.nonRetryable('payment token refused', PAYMENT_INVALID_ERROR);
}
