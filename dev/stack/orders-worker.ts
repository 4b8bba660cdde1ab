// Entry point of the e2e stack's orders worker: the product's, unless E2E_CRASH_AFTER names a state. Then it SIGKILLs
// itself right after its E2E_CRASH_AT-th write of that state commits: between a local write and the completion of
// the workflow task that ran it, the window a crash must not turn into a lost or doubled decision.
import { createOrderActivities } from '../../src/activities/orders';
import type { OrderActivities } from '../../src/domain';
import { createOrdersWorker } from '../../src/workers/orders/worker';
import { runWorkerProcess } from '../../src/workers/run';

function crashingAfter(activities: OrderActivities, state: string, at: number): OrderActivities {
  let written = 0;
  return {
    ...activities,
    recordTransition: async (record) => {
      const answer = await activities.recordTransition(record);
      if (record.to === state && ++written === at) {
        console.log(`E2E crash after writing ${state} for order ${record.orderId}`);
        process.kill(process.pid, 'SIGKILL');
      }
      return answer;
    },
  };
}

void runWorkerProcess('orders-worker', ({ config, connection, db, dataConverter }) => {
  const real = createOrderActivities({ db });
  const crashAfter = process.env.E2E_CRASH_AFTER;
  return createOrdersWorker({
    connection,
    namespace: config.temporal.namespace,
    db,
    dataConverter,
    activities: crashAfter ? crashingAfter(real, crashAfter, Number(process.env.E2E_CRASH_AT ?? 1)) : real,
    workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
    deploymentVersion: config.workerDeploymentVersion,
    tuning: {
      maxCachedWorkflows: config.WORKER_WORKFLOW_CACHE_SIZE,
      stickyQueueScheduleToStartTimeout: config.WORKER_STICKY_QUEUE_TIMEOUT_SECONDS * 1000,
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    },
  });
}).catch((error: unknown) => {
  console.error('orders-worker failed:', error);
  process.exit(1);
});
