import { createConfiguredMockGateway } from '../../activities/gateway';
import { runWorkerProcess } from '../run';
import { createPaymentsWorker, paymentsWorkerSettings } from './worker';

void runWorkerProcess(
  'payments-worker',
  ({ config, connection, db, dataConverter }) =>
    createPaymentsWorker({
      ...paymentsWorkerSettings(config),
      connection,
      db,
      dataConverter,
      gateway: createConfiguredMockGateway(config),
    }),
  { defaultHealthPort: 9465 },
).catch((error: unknown) => {
  console.error('payments-worker failed:', error);
  process.exit(1);
});
