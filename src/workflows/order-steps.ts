// The steps of one order's story (order.ts tells it). Every decision goes through `commit`: written to the order's
// row, guarded by the state it leaves, before its side effect runs; the writes are local activities, which commit
// before their workflow task does. When a task is retried (a crash, or a cancel that came meanwhile) and decides
// otherwise, the row answers with what was committed first and the story follows it. docs/decisions.md says why.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  assertTransition,
  cancelReasons,
  orderStateSearchAttribute,
  PAYMENT_INVALID_ERROR,
  PAYMENTS_TASK_QUEUE,
  type CommittedDecision,
  type NewOrder,
  type OrderActivities,
  type OrderPayment,
  type OrderState,
  type OrderView,
  type PaymentActivities,
  type PaymentView,
} from '../domain';
import type { CancelRequests, HonouredCancel } from './cancel-requests';

// No maximum attempts: a database or gateway outage is waited out, never turned into a lost order.
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

// The order's rows are written in this worker, without a task queue round trip. A retry whose backoff is past
// localRetryThreshold waits on a timer rather than inside a held-open workflow task, so a database outage costs a task
// per retry instead of a task heartbeat every ~8 s.
const store = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '10s', localRetryThreshold: '4s', retry });

// The payment activities heartbeat during each gateway call: a payments worker that dies is noticed in 2 s, not 30.
const payments = proxyActivities<PaymentActivities>({
  taskQueue: PAYMENTS_TASK_QUEUE,
  startToCloseTimeout: '30s',
  heartbeatTimeout: '2s',
  retry: { ...retry, nonRetryableErrorTypes: [PAYMENT_INVALID_ERROR] },
});

/** What came of the charge: a payment (confirmed or declined), a token the gateway refused, or a cancel first. */
export type PaymentOutcome =
  { kind: 'charged'; payment: PaymentView } | { kind: 'invalid' } | ({ kind: 'cancel_requested' } & HonouredCancel);

const now = () => new Date().toISOString();

export class OrderSteps {
  /** What the order pays: the charge and the refund both name it. */
  private readonly orderPayment: OrderPayment;

  constructor(
    private readonly order: NewOrder,
    /** The workflow's view of the order, which the status query answers; changed in place. */
    private readonly view: OrderView,
    private readonly cancels: CancelRequests,
  ) {
    this.orderPayment = {
      orderId: order.id,
      customerId: order.customerId,
      amount: view.amount,
      currency: order.currency,
    };
  }

  /** The order's row and its `created` event, once; the stored time is the order's creation time. */
  async record(): Promise<void> {
    const { at } = await store.recordOrderCreated({
      order: this.view,
      requestFingerprint: this.order.requestFingerprint ?? null,
      idempotencyKey: this.order.idempotencyKey ?? null,
    });
    this.view.createdAt = this.view.updatedAt = this.view.history[0].at = at;
  }

  /** The charge, unless a cancel comes first: a charge still retrying is then stopped, and the refund voids it. */
  async chargeUnlessCancelled(): Promise<PaymentOutcome> {
    const scope = new CancellationScope();
    const charge = scope
      .run(() => payments.processPayment({ ...this.orderPayment, paymentToken: this.order.paymentToken }))
      .then(
        (result): PaymentOutcome => ({ kind: 'charged', payment: { status: result.status, id: result.paymentId } }),
        (error: unknown): PaymentOutcome => {
          if (isPaymentInvalid(error)) return { kind: 'invalid' };
          const cancel = this.cancels.pending();
          if (isCancellation(error) && cancel) return { kind: 'cancel_requested', ...cancel };
          throw error;
        },
      );
    const cancelled = condition(() => this.cancels.pending() !== undefined).then((): PaymentOutcome => {
      scope.cancel();
      return { kind: 'cancel_requested', ...this.cancels.pending()! };
    });
    return Promise.race([charge, cancelled]);
  }

  async decideOnPayment(outcome: PaymentOutcome): Promise<void> {
    // A cancel that came in the same task as the charge's confirmation wins; the refund then reverses the charge.
    const cancel = this.cancels.pending();
    if (outcome.kind === 'invalid') {
      await this.commit('cancelled', cancelReasons.paymentInvalid, { status: 'invalid', id: null });
    } else if (outcome.kind === 'cancel_requested') {
      await this.commit('cancelled', outcome.reason, this.view.payment, outcome.requestedBy);
    } else if (outcome.payment.status !== 'confirmed') {
      await this.commit('cancelled', cancelReasons.paymentDeclined, outcome.payment);
    } else if (cancel) {
      await this.commit('cancelled', cancel.reason, outcome.payment, cancel.requestedBy);
    } else {
      await this.commit('confirmed', null, outcome.payment);
    }
  }

  /** The durable delivery timer, abandoned by a cancel. */
  async deliverOrCancel(deliveryDelaySeconds: number): Promise<void> {
    await condition(() => this.cancels.pending() !== undefined, deliveryDelaySeconds * 1000);
    const cancel = this.cancels.pending();
    if (cancel) await this.commit('cancelled', cancel.reason, this.view.payment, cancel.requestedBy);
    else await this.commit('delivered', null, this.view.payment);
  }

  /** Runs only once the row says cancelled: reverses whatever the charge may have taken. */
  async refund(): Promise<void> {
    const refunded = await payments.refundPayment(this.orderPayment);
    const payment = { status: refunded.status, id: refunded.paymentId };
    const { at } = await store.recordPaymentSettled({ orderId: this.order.id, payment, at: now() });
    Object.assign(this.view, { payment, updatedAt: at });
  }

  /** Cancels that came too late change nothing, but the order's history says they came. */
  async writeRejectedCancels(): Promise<void> {
    for (let rejection = await this.cancels.nextRejected(); rejection; rejection = await this.cancels.nextRejected()) {
      const { at } = await store.recordCancelRejected(rejection);
      const { state, reason, requestedBy: by } = rejection;
      this.view.history.push({ event: 'cancel_rejected', state, at, reason, by });
    }
  }

  /** Writes a decision and takes the row's answer, which is this decision unless an earlier try committed another. */
  private async commit(
    to: OrderState,
    reason: string | null,
    payment: PaymentView,
    requestedBy: string | null = null,
  ): Promise<void> {
    const from = this.view.state;
    assertTransition(from, to);
    const row = await store.recordTransition({
      orderId: this.order.id,
      from,
      to,
      reason,
      payment,
      at: now(),
      requestedBy,
    });
    this.adopt(row);
  }

  private adopt({ state, cancelReason, payment, updatedAt, transitions }: CommittedDecision): void {
    Object.assign(this.view, { state, cancelReason, payment, updatedAt });
    this.view.history.push(...transitions);
    upsertSearchAttributes([{ key: orderStateSearchAttribute, value: state }]);
    this.cancels.orderChanged();
  }
}

function isPaymentInvalid(error: unknown): boolean {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === PAYMENT_INVALID_ERROR
  );
}
