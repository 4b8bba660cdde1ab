// The rules one order's Postgres rows and gateway calls must satisfy. Pure: each returns what it found wrong.
import { canTransition, type OrderState, type PaymentStatus } from '../../src/domain';
import type { GatewayCall } from '../../dev/stack/gateway-calls';

export interface OrderRow {
  id: string;
  customer_id: string;
  state: OrderState;
  amount: number;
  cancel_reason: string | null;
  payment_status: PaymentStatus;
  payment_id: string | null;
}

export interface EventRow {
  order_id: string;
  event: 'transition' | 'cancel_rejected';
  from_state: OrderState | null;
  to_state: OrderState;
}

export interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: PaymentStatus;
  amount: number;
  gateway_reference: string | null;
  refunded_at: Date | null;
}

/** A duplicate is something that happened twice; a problem is any other broken rule. */
export interface Finding {
  kind: 'duplicate' | 'problem';
  text: string;
}

const problem = (row: OrderRow, what: string): Finding => ({
  kind: 'problem',
  text: `order ${row.id} (${row.state}): ${what}`,
});
const duplicate = (row: OrderRow, what: string): Finding => ({ kind: 'duplicate', text: `order ${row.id}: ${what}` });

/** The transition history runs created → … → the row's state, each step legal, none repeated. */
export function checkHistory(row: OrderRow, events: EventRow[]): Finding[] {
  const found: Finding[] = [];
  const seen = new Set<string>();
  let at: OrderState | null = null;
  for (const { from_state: from, to_state: to } of events.filter((e) => e.event === 'transition')) {
    const step = `${from ?? '(none)'}->${to}`;
    if (seen.has(step)) found.push(duplicate(row, `transition ${step} recorded twice`));
    seen.add(step);
    const legal = from === null ? at === null && to === 'created' : from === at && canTransition(from, to);
    if (!legal) found.push(problem(row, `illegal step ${step} after ${at ?? '(nothing)'}`));
    at = to;
  }
  if (at !== row.state) found.push(problem(row, `history ends in ${at} but the row says ${row.state}`));
  for (const e of events.filter((e) => e.event === 'cancel_rejected' && e.from_state !== e.to_state)) {
    found.push(problem(row, `a rejected cancel changed the state ${e.from_state} -> ${e.to_state}`));
  }
  return found;
}

/** One payment per order, mirrored on the order, refunded iff the order was cancelled after a confirmed payment. */
export function checkPayment(row: OrderRow, events: EventRow[], payments: PaymentRow[]): Finding[] {
  if (payments.length !== 1) return [problem(row, `${payments.length} payment rows, expected exactly one`)];
  const [payment] = payments;
  const wasConfirmed = events.some((e) => e.event === 'transition' && e.to_state === 'confirmed');
  const rules: [boolean, string][] = [
    [payment.amount !== row.amount, `payment amount ${payment.amount} but order amount ${row.amount}`],
    [
      payment.status !== row.payment_status || payment.payment_id !== row.payment_id,
      `order records payment ${row.payment_id}/${row.payment_status}, payments has ${payment.payment_id}/${payment.status}`,
    ],
    [row.state === 'delivered' && payment.status !== 'confirmed', `delivered with payment ${payment.status}`],
    [
      row.state === 'cancelled' && wasConfirmed && payment.status !== 'refunded',
      `cancelled after a confirmed payment, but the payment is ${payment.status}, not refunded`,
    ],
    [row.state === 'cancelled' && payment.status === 'confirmed', 'cancelled with its payment still charged'],
    [payment.status === 'refunded' && row.state !== 'cancelled', 'refunded but not cancelled'],
    [payment.status === 'refunded' && payment.refunded_at === null, 'refunded without refunded_at'],
    [payment.status === 'voided' && payment.gateway_reference !== null, 'voided, yet it reached the gateway'],
    [
      row.cancel_reason === 'payment_declined' && payment.status !== 'declined',
      `cancelled as payment_declined with payment ${payment.status}`,
    ],
  ];
  return rules.filter(([broken]) => broken).map(([, what]) => problem(row, what));
}

/**
 * What the gateway was asked. A charge that went through, or one whose caller died before the answer, may have taken
 * money; a retry under the same payment id is recognised by the gateway as a repeat and takes nothing more, but a
 * retry under another payment id may take it again.
 */
export function checkGatewayCalls(row: OrderRow, payment: PaymentRow | undefined, calls: GatewayCall[]): Finding[] {
  const found: Finding[] = [];
  const charges = calls.filter((c) => c.call === 'charge');
  const answers = new Map(charges.filter((c) => c.outcome !== 'requested').map((c) => [c.paymentId, c.outcome]));
  const chargeIds = [...new Set(charges.map((c) => c.paymentId))];
  const mayHaveCharged = chargeIds.filter((id) => !answers.has(id) || answers.get(id) === 'confirmed');
  const confirmedIds = new Set(charges.filter((c) => c.outcome === 'confirmed').map((c) => c.paymentId));
  if (confirmedIds.size > 1) {
    found.push(
      duplicate(row, `the gateway confirmed charges under ${confirmedIds.size} payment ids (${chargeIds.join(', ')})`),
    );
  } else if (mayHaveCharged.length > 1) {
    const unanswered = mayHaveCharged.filter((id) => !answers.has(id));
    found.push(
      duplicate(
        row,
        `charged under ${mayHaveCharged.length} payment ids (${mayHaveCharged.join(', ')}); ` +
          `${unanswered.join(', ')} got no answer (its caller died), then a retry charged under a new id`,
      ),
    );
  }
  const refundReferences = new Set(calls.filter((c) => c.call === 'refund').map((c) => c.paymentId));
  if (refundReferences.size > 1) found.push(duplicate(row, `refunds of ${refundReferences.size} different charges`));
  if (payment && chargeIds.length > 0 && !chargeIds.includes(payment.payment_id)) {
    found.push(problem(row, `payment ${payment.payment_id} is not one the gateway was asked to charge`));
  }
  const refunded = calls.some((c) => c.call === 'refund' && c.outcome === 'refunded');
  // voided after a charge attempt: whatever that attempt may have taken was reversed at the gateway.
  const reversedStatus = payment?.status === 'refunded' || (payment?.status === 'voided' && chargeIds.length > 0);
  if (confirmedIds.size > 0 && payment && payment.status !== 'confirmed' && !(reversedStatus && refunded)) {
    found.push(problem(row, `the gateway confirmed a charge, but the payment is ${payment.status}`));
  }
  // A refund that found the row pending before any charge call: the attempt that wrote it had committed its payment id
  // and not yet taken the row's lock (or died there). The refund voids that id at the gateway, not knowing whether it
  // was charged, and the attempt then finds the order closed and charges nothing: a void of nothing, harmless.
  const voidBeforeAnyCharge = payment?.status === 'voided' && chargeIds.length === 0 && refunded;
  if (refunded !== reversedStatus && !voidBeforeAnyCharge) {
    found.push(
      problem(row, `gateway refund ${refunded ? 'done' : 'never done'}, payment ${payment?.status ?? 'missing'}`),
    );
  }
  return found;
}
