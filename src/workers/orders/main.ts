import { runWorkerProcess } from '../run';
import { createOrdersWorker } from './worker';

void runWorkerProcess(
  'orders-worker',
  ({ config, connection, db, dataConverter }) =>
    createOrdersWorker({
      connection,
      namespace: config.temporal.namespace,
      db,
      dataConverter,
      workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
      deploymentVersion: config.workerDeploymentVersion,
      tuning: {
        maxCachedWorkflows: config.WORKER_WORKFLOW_CACHE_SIZE,
        stickyQueueScheduleToStartTimeout: config.WORKER_STICKY_QUEUE_TIMEOUT_SECONDS * 1000,
        maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      },
    }),
  { defaultHealthPort: 9464 },
).catch((error: unknown) => {
  console.error('orders-worker failed:', error);
  process.exit(1);
});
