// The contract between API, workers and workflow: queue names, ids, message definitions, inputs and activity shapes.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { HistoryEntry, OrderState, OrderView, PaymentStatus, PaymentView } from './order';
import type { CheckedOrder } from './order-rules';

export const ORDERS_TASK_QUEUE = 'orders';
export const PAYMENTS_TASK_QUEUE = 'payments';

export const orderWorkflowType = 'orderWorkflow';

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

export const orderStateSearchAttribute = defineSearchAttributeKey('OrderState', SearchAttributeType.KEYWORD);
export const customerIdSearchAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);

/** A request to cancel. `requestId` names it, so the same request sent as an Update and again as a signal counts once. */
export interface CancelRequest {
  reason?: string;
  requestId?: string;
  /** Who asked: the caller's token subject (absent from the Web UI and the CLI). */
  requestedBy?: string;
}

/** The workflow's answer to a cancel: `accepted`, the order's row says cancelled; `rejected`, it says delivered. */
export interface CancelDecision {
  status: 'accepted' | 'rejected';
  order: OrderView;
}

/** The API's cancel: decided by the workflow from its own state and answered at once. */
export const cancelUpdate = defineUpdate<CancelDecision, [CancelRequest]>('cancel');
/** The same request, for the Web UI, the CLI, and the API when no worker answered the Update in time. */
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
export const statusQuery = defineQuery<OrderView>('status');

/** The memo key under which a workflow keeps the order as accepted: read by describe, without a worker. */
export const ORDER_MEMO = 'order';

export interface OrderMemo {
  order: OrderView;
  /** Hash of the create request, kept so a retried request with the same Idempotency-Key can be told apart. */
  requestFingerprint: string;
}

export interface NewOrder extends CheckedOrder {
  id: string;
  /** When the API accepted it; the workflow's start time when absent (an order started from the CLI). */
  createdAt?: string;
  requestFingerprint?: string;
  idempotencyKey?: string;
}

export interface OrderWorkflowInput {
  order: NewOrder;
  /** Fixed at start, so a running order keeps the delay it began with. */
  deliveryDelaySeconds: number;
}

/** The type of the non-retryable failure processPayment raises for a token the gateway refuses. */
export const PAYMENT_INVALID_ERROR = 'PaymentInvalid';

/** What an order pays, as the payments service knows it: its charge and its refund both name it. */
export interface OrderPayment {
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
}

/** A charge: the order's payment and the token to charge it to. */
export interface PaymentRequest extends OrderPayment {
  paymentToken: string;
}

export interface PaymentResult {
  /** `voided`: the order was cancelled before this charge could go through. */
  status: Extract<PaymentStatus, 'confirmed' | 'declined' | 'voided'>;
  paymentId: string;
}

export interface RefundResult {
  status: PaymentStatus;
  paymentId: string;
}

export interface PaymentActivities {
  processPayment(request: PaymentRequest): Promise<PaymentResult>;
  refundPayment(payment: OrderPayment): Promise<RefundResult>;
}

export interface OrderCreatedRecord {
  order: OrderView;
  requestFingerprint: string | null;
  idempotencyKey: string | null;
}

/** A decision: move the order from `from` to `to`. The row takes it only while it is still in `from`. */
export interface TransitionRecord {
  orderId: string;
  from: OrderState;
  to: OrderState;
  reason: string | null;
  payment: PaymentView;
  at: string;
  /** Who asked for a cancel, when one did. */
  requestedBy: string | null;
}

/**
 * What the order's row holds after a decision was written: that decision, or the one an earlier try of the same
 * workflow task committed first. `transitions` are the ones recorded after the decision's `from` state, in order.
 */
export interface CommittedDecision {
  state: OrderState;
  cancelReason: string | null;
  payment: PaymentView;
  updatedAt: string;
  transitions: Extract<HistoryEntry, { event: 'transition' }>[];
}

/** The payment of a cancelled order once its refund or void went through. */
export interface PaymentSettledRecord {
  orderId: string;
  payment: PaymentView;
  at: string;
}

export interface CancelRejectionRecord {
  orderId: string;
  /** Names the request across retries, so it is recorded once. */
  requestId: string;
  state: OrderState;
  reason: string | null;
  at: string;
  requestedBy: string | null;
}

/**
 * When the store says a write happened: the time it was first recorded. A retry that finds the write already done
 * answers the stored time, so the workflow's view matches the database even when a workflow task that ran the write
 * as a local activity is retried with a later clock.
 */
export interface RecordedAt {
  at: string;
}

export interface OrderActivities {
  recordOrderCreated(record: OrderCreatedRecord): Promise<RecordedAt>;
  recordTransition(record: TransitionRecord): Promise<CommittedDecision>;
  recordPaymentSettled(record: PaymentSettledRecord): Promise<RecordedAt>;
  recordCancelRejected(record: CancelRejectionRecord): Promise<RecordedAt>;
}
