// Entry point of the e2e stack's payments worker: the product's payment activities, worker life cycle and mock
// gateway, with every gateway call also written to the log as a `GATEWAY {json}` line: the record by which the suite
// proves that no order was charged twice (under two payment ids).
import { Context } from '@temporalio/activity';
import { createConfiguredMockGateway, type PaymentGateway } from '../../src/activities/gateway';
import { createPaymentsWorker, paymentsWorkerSettings } from '../../src/workers/payments/worker';
import { runWorkerProcess } from '../../src/workers/run';
import type { GatewayCall } from './gateway-calls';

function record(call: Omit<GatewayCall, 'workflowId' | 'attempt'>): void {
  const { workflowExecution, attempt } = Context.current().info;
  const line: GatewayCall = { ...call, workflowId: workflowExecution?.workflowId ?? '(none)', attempt };
  console.log(`GATEWAY ${JSON.stringify(line)}`);
}

function recording(gateway: PaymentGateway): PaymentGateway {
  return {
    async charge(charge) {
      record({ call: 'charge', paymentId: charge.paymentId, outcome: 'requested' });
      const result = await gateway.charge(charge).catch((error: unknown) => {
        record({ call: 'charge', paymentId: charge.paymentId, outcome: 'failed' });
        throw error;
      });
      record({ call: 'charge', paymentId: charge.paymentId, outcome: result.outcome });
      return result;
    },
    async refund(refund) {
      record({ call: 'refund', paymentId: refund.paymentId, outcome: 'requested' });
      await gateway.refund(refund);
      record({ call: 'refund', paymentId: refund.paymentId, outcome: 'refunded' });
    },
  };
}

void runWorkerProcess('payments-worker', ({ config, connection, db, dataConverter }) =>
  createPaymentsWorker({
    ...paymentsWorkerSettings(config),
    connection,
    db,
    dataConverter,
    gateway: recording(createConfiguredMockGateway(config)),
  }),
).catch((error: unknown) => {
  console.error('payments-worker failed:', error);
  process.exit(1);
});
