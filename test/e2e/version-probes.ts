// Where an order ran, as Temporal records it: the build its workflow is pinned to (describe's versioningInfo), the
// build of every workflow task its history says completed, and any task that failed on non-determinism.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { orderWorkflowId } from '../../src/domain';

const { VersioningBehavior, WorkflowTaskFailedCause } = temporal.api.enums.v1;

/** A workflow task completed by an unversioned worker. */
export const UNVERSIONED = 'unversioned';

export interface OrderVersioning {
  orderId: string;
  /** The build the order is pinned to; undefined while no versioned worker has completed one of its tasks. */
  pinnedTo?: string;
  pinned: boolean;
  /** Pinned by an override at start (a smoke test), rather than by the build that took its first task. */
  overridden: boolean;
  /** The build of each completed workflow task, in order. */
  taskBuilds: string[];
  /** Failure messages of workflow tasks that failed on non-determinism. */
  nondeterminism: string[];
}

export async function orderVersioning(client: Client, orderId: string): Promise<OrderVersioning> {
  const workflowId = orderWorkflowId(orderId);
  const { workflowExecutionInfo } = await client.workflowService.describeWorkflowExecution({
    namespace: client.options.namespace,
    execution: { workflowId },
  });
  const info = workflowExecutionInfo?.versioningInfo;
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return {
    orderId,
    pinnedTo: info?.deploymentVersion?.buildId ?? undefined,
    pinned: info?.behavior === VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
    overridden: Boolean(info?.versioningOverride),
    taskBuilds: events.flatMap(({ workflowTaskCompletedEventAttributes: completed }) =>
      completed ? [completed.deploymentVersion?.buildId || UNVERSIONED] : [],
    ),
    nondeterminism: events.flatMap(({ workflowTaskFailedEventAttributes: failed }) =>
      failed?.cause === WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
        ? [failed.failure?.message ?? 'non-determinism']
        : [],
    ),
  };
}

/** The builds that completed an order's tasks, each once, in the order they first did. */
export const buildsOf = (versioning: OrderVersioning): string[] => [...new Set(versioning.taskBuilds)];
