import { createConfiguredMockGateway } from '../../activities/gateway';
import { runWorkerProcess } from '../run';
import { createPaymentsWorker } from './worker';

void runWorkerProcess(
  'payments-worker',
  ({ config, connection, db, dataConverter }) =>
    createPaymentsWorker({
      connection,
      namespace: config.temporal.namespace,
      db,
      dataConverter,
      gateway: createConfiguredMockGateway(config),
      tuning: { maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES },
    }),
  { defaultHealthPort: 9465 },
).catch((error: unknown) => {
  console.error('payments-worker failed:', error);
  process.exit(1);
});
