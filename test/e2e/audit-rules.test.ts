// The audit's gateway rule on its own: which endings of a payment agree with the gateway's calls.
import type { GatewayCall } from '../../dev/stack/gateway-calls';
import { checkGatewayCalls, type OrderRow, type PaymentRow } from './audit-rules';

const order: OrderRow = {
  id: 'o-1',
  customer_id: 'c-1',
  state: 'cancelled',
  amount: 1000,
  cancel_reason: 'customer',
  payment_status: 'voided',
  payment_id: 'pay_1',
};
const payment = (status: PaymentRow['status']): PaymentRow => ({
  order_id: 'o-1',
  payment_id: 'pay_1',
  status,
  amount: 1000,
  gateway_reference: null,
  refunded_at: null,
});
const call = (kind: GatewayCall['call'], outcome: GatewayCall['outcome']): GatewayCall => ({
  call: kind,
  workflowId: 'order-o-1',
  attempt: 1,
  paymentId: 'pay_1',
  outcome,
});

it('accepts a void at the gateway of a payment id no charge was sent under (a refund that won the race)', () => {
  expect(
    checkGatewayCalls(order, payment('voided'), [call('refund', 'requested'), call('refund', 'refunded')]),
  ).toEqual([]);
});

it('accepts a void with no gateway call when the cancel came before any charge attempt', () => {
  expect(checkGatewayCalls(order, payment('voided'), [])).toEqual([]);
});

it('finds a charge attempt without an answer that was voided in the table but never at the gateway', () => {
  expect(checkGatewayCalls(order, payment('voided'), [call('charge', 'requested')])).toEqual([
    { kind: 'problem', text: 'order o-1 (cancelled): gateway refund never done, payment voided' },
  ]);
});

it('finds a confirmed charge left standing under a voided payment', () => {
  expect(checkGatewayCalls(order, payment('voided'), [call('charge', 'confirmed')]).map((f) => f.text)).toEqual([
    'order o-1 (cancelled): the gateway confirmed a charge, but the payment is voided',
    'order o-1 (cancelled): gateway refund never done, payment voided',
  ]);
});

it('finds a refund at the gateway of an order whose payment still stands', () => {
  const confirmed = { ...order, state: 'delivered' as const, payment_status: 'confirmed' as const };
  expect(
    checkGatewayCalls(confirmed, payment('confirmed'), [call('charge', 'confirmed'), call('refund', 'refunded')]),
  ).toEqual([{ kind: 'problem', text: 'order o-1 (delivered): gateway refund done, payment confirmed' }]);
});
