// In-memory stand-ins for the order and payment activities, recording every call.
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  PAYMENT_INVALID_ERROR,
  type CancelRejectionRecord,
  type OrderActivities,
  type OrderCreatedRecord,
  type PaymentActivities,
  type PaymentRequest,
  type PaymentResult,
  type RefundRequest,
  type RefundResult,
  type TransitionRecord,
} from '../../src/domain';

export class FakeOrderStore implements OrderActivities {
  readonly created: OrderCreatedRecord[] = [];
  readonly transitions: TransitionRecord[] = [];
  readonly rejections: CancelRejectionRecord[] = [];
  /** Every attempt to record the order: true when it ran as a local activity. */
  readonly createAttempts: boolean[] = [];
  /** Lets a test hold a transition open, e.g. to send a cancel while delivery is being recorded. */
  beforeTransition: (record: TransitionRecord) => Promise<void> = async () => {};
  /** Lets a test hold the order's recording open, e.g. to cancel the workflow meanwhile. */
  beforeCreated: (record: OrderCreatedRecord) => Promise<void> = async () => {};

  recordOrderCreated = async (record: OrderCreatedRecord) => {
    this.createAttempts.push(Context.current().info.isLocal);
    await this.beforeCreated(record);
    this.created.push(record);
    return { at: record.order.createdAt };
  };
  recordTransition = async (record: TransitionRecord) => {
    await this.beforeTransition(record);
    this.transitions.push(record);
    return { at: record.at };
  };
  recordCancelRejected = async (record: CancelRejectionRecord) => {
    this.rejections.push(record);
    return { at: record.at };
  };

  path(): string[] {
    return ['created', ...this.transitions.map((t) => t.to)];
  }
}

export class FakePayments implements PaymentActivities {
  readonly charges: PaymentRequest[] = [];
  readonly refunds: RefundRequest[] = [];
  /** How each charge attempt answers; the default approves. */
  charge: (request: PaymentRequest, attempt: number) => Promise<PaymentResult> = async () => ({
    status: 'confirmed',
    paymentId: 'pay_1',
  });
  refund: (request: RefundRequest) => Promise<RefundResult> = async () => ({ status: 'refunded', paymentId: 'pay_1' });

  processPayment = async (request: PaymentRequest) => {
    this.charges.push(request);
    return this.charge(request, this.charges.length);
  };
  refundPayment = async (request: RefundRequest) => {
    this.refunds.push(request);
    return this.refund(request);
  };
}

export function invalidToken(): never {
  throw ApplicationFailure.nonRetryable('payment token refused', PAYMENT_INVALID_ERROR);
}

/** A promise with its resolver, for holding a fake activity until the test lets it go. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}
