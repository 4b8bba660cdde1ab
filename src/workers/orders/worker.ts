import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { createOrderActivities } from '../../activities/orders';
import type { Db } from '../../db/knex';
import { ORDERS_TASK_QUEUE, type OrderActivities } from '../../domain';
import { discardedWorkflowSpans } from '../../telemetry';
import { bundleOrderWorkflows } from './workflow-bundle';

export interface OrdersWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  /** The payload codec's converter; none in tests that run without encryption. */
  dataConverter?: DataConverter;
  /** The order writes; by default the real ones on `db`. */
  activities?: OrderActivities;
  /** A bundle built ahead of time (production); without it the workflow code is bundled at start, the same way. */
  workflowBundlePath?: string;
  tuning?: Pick<
    WorkerOptions,
    'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'stickyQueueScheduleToStartTimeout'
  >;
}

// Bundled once per process: a worker made again after Temporal came back reuses the bundle.
let bundledAtStart: Promise<WorkflowBundle> | undefined;

export async function createOrdersWorker({
  connection,
  namespace,
  db,
  dataConverter,
  activities = createOrderActivities({ db }),
  workflowBundlePath,
  tuning,
}: OrdersWorkerDeps): Promise<Worker> {
  // Always a bundle, never workflowsPath: with that the SDK's OpenTelemetry plugin would add its own interceptors.
  const workflowBundle = workflowBundlePath
    ? { codePath: workflowBundlePath }
    : await (bundledAtStart ??= bundleOrderWorkflows({ logger: Runtime.instance().logger }));
  return Worker.create({
    connection,
    namespace,
    dataConverter,
    taskQueue: ORDERS_TASK_QUEUE,
    activities,
    // A traced worker's OpenTelemetry plugin puts its own exporter sink over this one.
    sinks: discardedWorkflowSpans,
    workflowBundle,
    ...tuning,
  });
}
