// The order state machine and the order's shapes. Pure and deterministic: the workflow sandbox imports it.

export const orderStates = ['created', 'confirmed', 'delivered', 'cancelled'] as const;
export type OrderState = (typeof orderStates)[number];

export const paymentStatuses = ['pending', 'confirmed', 'declined', 'invalid', 'refunded', 'voided'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export const cancelReasons = {
  paymentDeclined: 'payment_declined',
  paymentInvalid: 'payment_invalid',
  customerRequest: 'customer_request',
  /** The workflow itself was cancelled, e.g. by an operator in the Web UI. */
  workflowCancelled: 'workflow_cancelled',
} as const;

const allowedTransitions: Record<OrderState, readonly OrderState[]> = {
  created: ['confirmed', 'cancelled'],
  confirmed: ['delivered', 'cancelled'],
  delivered: [],
  cancelled: [],
};

export function canTransition(from: OrderState, to: OrderState): boolean {
  return allowedTransitions[from].includes(to);
}

/** Whether `to` lies ahead of `from`, one or more transitions on. */
export function canReach(from: OrderState, to: OrderState): boolean {
  return allowedTransitions[from].some((next) => next === to || canReach(next, to));
}

export function isFinal(state: OrderState): boolean {
  return allowedTransitions[state].length === 0;
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: OrderState | null,
    readonly to: OrderState,
  ) {
    super(`illegal order transition ${from ?? '(none)'} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: OrderState, to: OrderState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export function orderAmount(items: readonly OrderItem[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
}

export interface PaymentView {
  status: PaymentStatus;
  id: string | null;
}

/** `by`: who asked for the cancel behind the entry (a token subject), when someone did. */
export type HistoryEntry =
  | { event: 'transition'; state: OrderState; at: string; reason: string | null; by: string | null }
  | { event: 'cancel_rejected'; state: OrderState; at: string; reason: string | null; by: string | null };

export interface OrderView {
  id: string;
  customerId: string;
  currency: string;
  items: OrderItem[];
  amount: number;
  state: OrderState;
  cancelReason: string | null;
  payment: PaymentView;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
}

/** The order as accepted, before anything has happened to it: what the API answers 201 with and keeps in the memo. */
export function acceptedOrder(order: {
  id: string;
  customerId: string;
  currency: string;
  items: OrderItem[];
  createdAt: string;
}): OrderView {
  const { id, customerId, currency, items, createdAt } = order;
  return {
    id,
    customerId,
    currency,
    items,
    amount: orderAmount(items),
    state: 'created',
    cancelReason: null,
    payment: { status: 'pending', id: null },
    createdAt,
    updatedAt: createdAt,
    history: [{ event: 'transition', state: 'created', at: createdAt, reason: null, by: null }],
  };
}

/** Whether a cancelled order's payment may still have to be reversed: a charge may have gone through. */
export function mayHaveCharged(order: Pick<OrderView, 'cancelReason'>): boolean {
  return order.cancelReason !== cancelReasons.paymentDeclined && order.cancelReason !== cancelReasons.paymentInvalid;
}

/** Whether a cancelled order's payment has reached its end: nothing is still being charged or refunded. */
export function isPaymentSettled(order: Pick<OrderView, 'state' | 'payment'>): boolean {
  return order.state === 'cancelled' && order.payment.status !== 'pending' && order.payment.status !== 'confirmed';
}

/** A one-line description of an order, shown as the workflow's summary in the Web UI. */
export function workflowSummary(order: Pick<OrderView, 'customerId' | 'items' | 'amount' | 'currency'>): string {
  const units = order.items.reduce((sum, item) => sum + item.quantity, 0);
  const skus = order.items.map((item) => item.sku).join(', ');
  return `${order.customerId}: ${units} × [${skus}] = ${order.amount} ${order.currency} (minor units)`;
}
