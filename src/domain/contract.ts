// The contract between API, workers and workflow: queue names, ids, message definitions, inputs and activity shapes.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { CancelOrderRequest, CreateOrderRequest } from './order-input';
import type { OrderState, OrderView, PaymentStatus } from './order';

export const ORDERS_TASK_QUEUE = 'orders';
export const PAYMENTS_TASK_QUEUE = 'payments';

export const orderWorkflowType = 'orderWorkflow';

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

export const orderStateSearchAttribute = defineSearchAttributeKey('OrderState', SearchAttributeType.KEYWORD);
export const customerIdSearchAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);

export const cancelSignal = defineSignal<[CancelOrderRequest?]>('cancel');
export const statusQuery = defineQuery<OrderView>('status');
/** Completes once the order's `created` row is in Postgres, so the API can answer 201 truthfully. */
export const orderRecordedUpdate = defineUpdate<OrderReceipt>('orderRecorded');

export interface NewOrder extends CreateOrderRequest {
  id: string;
  /** Hash of the create request, kept so a retried request with the same Idempotency-Key can be told apart. */
  requestFingerprint?: string;
  idempotencyKey?: string;
}

export interface OrderWorkflowInput {
  order: NewOrder;
  /** Fixed at start, so a running order keeps the delay it began with. */
  deliveryDelaySeconds: number;
}

export interface OrderReceipt {
  order: OrderView;
  requestFingerprint: string | null;
}

/** The type of the non-retryable failure processPayment raises for a token the gateway refuses. */
export const PAYMENT_INVALID_ERROR = 'PaymentInvalid';

export interface PaymentRequest {
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
  paymentToken: string;
}

export type RefundRequest = Omit<PaymentRequest, 'paymentToken'>;

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
  refundPayment(request: RefundRequest): Promise<RefundResult>;
}

export interface OrderCreatedRecord {
  order: OrderView;
  requestFingerprint: string | null;
  idempotencyKey: string | null;
}

export interface TransitionRecord {
  orderId: string;
  from: OrderState;
  to: OrderState;
  reason: string | null;
  payment: { status: PaymentStatus; id: string | null };
  at: string;
}

export interface CancelRejectionRecord {
  orderId: string;
  /** 1 for the order's first rejected cancel, 2 for the next: names it across retries. */
  sequence: number;
  state: OrderState;
  reason: string | null;
  at: string;
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
  recordTransition(record: TransitionRecord): Promise<RecordedAt>;
  recordCancelRejected(record: CancelRejectionRecord): Promise<RecordedAt>;
}
