import type { DataConverter, WorkerDeploymentVersion } from '@temporalio/common';
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
  /** Poll as this Worker Deployment Version, every order PINNED to it; without it the worker is unversioned. */
  deploymentVersion?: WorkerDeploymentVersion;
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
  deploymentVersion,
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
    // The behavior goes on the worker, never on the workflow: the server refuses a task completion that carries one
    // from an unversioned worker, and that task would be retried for ever.
    workerDeploymentOptions: deploymentVersion && {
      useWorkerVersioning: true,
      version: deploymentVersion,
      defaultVersioningBehavior: 'PINNED',
    },
    ...tuning,
  });
}
