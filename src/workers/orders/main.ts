import { runWorkerProcess } from '../run';
import { createOrdersWorker, ordersWorkerSettings } from './worker';

void runWorkerProcess(
  'orders-worker',
  ({ config, connection, db, dataConverter }) =>
    createOrdersWorker({ ...ordersWorkerSettings(config), connection, db, dataConverter }),
  { defaultHealthPort: 9464 },
).catch((error: unknown) => {
  console.error('orders-worker failed:', error);
  process.exit(1);
});
