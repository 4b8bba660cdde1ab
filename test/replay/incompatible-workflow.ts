// A deliberately incompatible variant of orderWorkflow: it charges before recording the order.
// The replay tier proves that recorded histories reject it.
import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities, OrderWorkflowInput, PaymentActivities } from '../../src/domain';

const payments = proxyActivities<PaymentActivities>({ taskQueue: 'payments', startToCloseTimeout: '30s' });
const orders = proxyActivities<OrderActivities>({ startToCloseTimeout: '15s' });

export async function orderWorkflow({ order }: OrderWorkflowInput): Promise<void> {
  await payments.processPayment({
    orderId: order.id,
    customerId: order.customerId,
    amount: 0,
    currency: order.currency,
    paymentToken: order.paymentToken,
  });
  await orders.recordCancelRejected({
    orderId: order.id,
    requestId: 'r',
    state: 'created',
    reason: null,
    at: '',
    requestedBy: null,
  });
}
