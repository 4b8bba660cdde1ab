import { createMockGateway } from '../../activities/gateway';
import { runWorkerProcess } from '../run';
import { createPaymentsWorker } from './worker';

void runWorkerProcess('payments-worker', ({ config, connection, db }) =>
  createPaymentsWorker({
    connection,
    namespace: config.temporal.namespace,
    db,
    gateway: createMockGateway({
      approvalRate: config.PAYMENT_APPROVAL_RATE,
      failureRate: config.PAYMENT_FAILURE_RATE,
      delayMs: config.PAYMENT_GATEWAY_DELAY_MS,
    }),
    tuning: { maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES },
  }),
).catch((error: unknown) => {
  console.error('payments-worker failed:', error);
  process.exit(1);
});
