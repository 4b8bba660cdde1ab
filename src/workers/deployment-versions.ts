// The operator's side of Worker Deployment Versioning over the client's workflowService: see each version's routing
// status and drainage, ramp, promote (or roll back, which is promoting the earlier build), wait for a version to drain,
// retire it. Routing changes apply asynchronously, so every change here returns only once it is in effect: the
// deployment reports the new routing with no propagation in progress, or, where that report sticks (a server bug,
// temporalio/temporal#11842), the task queues themselves route by it. A new order started after that goes where the
// operator said.
import type { Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';

const { WorkerDeploymentVersionStatus, RoutingConfigUpdateState, TaskQueueKind } = temporal.api.enums.v1;
const { PinnedOverrideBehavior } = temporal.api.workflow.v1.VersioningOverride;
const NOT_FOUND = 5;

export type VersionStatus = 'inactive' | 'current' | 'ramping' | 'draining' | 'drained' | 'created' | 'unspecified';

export interface VersionSummary {
  buildId: string;
  status: VersionStatus;
  /** When the server last counted the version's open pinned workflows (draining versions only). */
  drainageCheckedAt?: Date;
  /** When the drainage status last changed: for a drained version, when it drained. */
  drainageChangedAt?: Date;
}

export interface DeploymentRouting {
  deploymentName: string;
  /** The build that takes new orders; undefined: unversioned workers do. */
  current?: string;
  ramping?: { buildId: string; percentage: number };
  /** False while the server is still propagating the last routing change to the task queues. */
  settled: boolean;
  /**
   * Set when the server kept reporting a routing change as propagating past `stuckAfterMs` while the task queues
   * themselves already routed by it (temporalio/temporal#11842: the report can stay IN_PROGRESS for ever).
   */
  confirmedByTaskQueues?: boolean;
  versions: VersionSummary[];
  conflictToken: Uint8Array;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** How long the server may report a routing change as propagating before the task queues are asked instead. */
  stuckAfterMs?: number;
}

const statusNames: Record<number, VersionStatus> = {
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE]: 'inactive',
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT]: 'current',
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING]: 'ramping',
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING]: 'draining',
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED]: 'drained',
  [WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED]: 'created',
};

/** Polls `check` until it returns a value, or fails naming what it waited for and the last state it saw. */
async function waitFor<T>(
  what: string,
  check: () => Promise<{ done: T } | { seen: string }>,
  { timeoutMs = 60_000, intervalMs = 250 }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if ('done' in result) return result.done;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${result.seen})`);
    await sleep(intervalMs);
  }
}

export function workerDeployment(client: Client, deploymentName: string) {
  const namespace = client.options.namespace;
  const service = client.workflowService;
  const identity = client.options.identity;

  async function describe(): Promise<DeploymentRouting> {
    const { workerDeploymentInfo: info, conflictToken } = await service.describeWorkerDeployment({
      namespace,
      deploymentName,
    });
    const routing = info?.routingConfig;
    const ramping = routing?.rampingDeploymentVersion?.buildId;
    return {
      deploymentName,
      current: routing?.currentDeploymentVersion?.buildId ?? undefined,
      ramping: ramping ? { buildId: ramping, percentage: routing?.rampingVersionPercentage ?? 0 } : undefined,
      settled: info?.routingConfigUpdateState !== RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS,
      versions: (info?.versionSummaries ?? []).map((summary) => ({
        buildId: summary.deploymentVersion?.buildId ?? '',
        status: statusNames[summary.status ?? 0] ?? 'unspecified',
        drainageCheckedAt: optionalTsToDate(summary.drainageInfo?.lastCheckedTime),
        drainageChangedAt: optionalTsToDate(summary.drainageInfo?.lastChangedTime),
      })),
      conflictToken: conflictToken ?? new Uint8Array(),
    };
  }

  const routingLine = (r: DeploymentRouting) =>
    `current ${r.current ?? 'unversioned'}, ramping ${r.ramping ? `${r.ramping.buildId} at ${r.ramping.percentage}%` : 'none'}` +
    (r.settled ? '' : ', propagating');

  type Routing = Pick<DeploymentRouting, 'current' | 'ramping'>;

  const routesAs = (seen: Routing, wanted: Routing) =>
    seen.current === wanted.current &&
    seen.ramping?.buildId === wanted.ramping?.buildId &&
    (wanted.ramping === undefined || seen.ramping?.percentage === wanted.ramping.percentage);

  /** Whether every task queue `buildId` polls routes as `wanted`, by the task queue's own (root partition's) word. */
  async function taskQueuesRouteAs(buildId: string, wanted: Routing): Promise<boolean> {
    const { workerDeploymentVersionInfo: info } = await service.describeWorkerDeploymentVersion({
      namespace,
      deploymentVersion: { deploymentName, buildId },
    });
    const queues = info?.taskQueueInfos ?? [];
    for (const { name, type } of queues) {
      const { versioningInfo: routing } = await service.describeTaskQueue({
        namespace,
        taskQueue: { name, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: type,
      });
      const ramping = routing?.rampingDeploymentVersion?.buildId;
      const seen = {
        current: routing?.currentDeploymentVersion?.buildId ?? undefined,
        ramping: ramping ? { buildId: ramping, percentage: routing?.rampingVersionPercentage ?? 0 } : undefined,
      };
      if (!routesAs(seen, wanted)) return false;
    }
    return queues.length > 0;
  }

  /**
   * Resolves once the deployment reports this routing and has finished propagating it, or, should the server still
   * report it as propagating after `stuckAfterMs` (20 s), once the task queues themselves route by it.
   */
  function waitForRouting(buildId: string, wanted: Routing, { stuckAfterMs = 20_000, ...options }: WaitOptions) {
    const since = Date.now();
    return waitFor<DeploymentRouting>(
      `routing ${routingLine({ ...wanted, settled: true } as DeploymentRouting)}`,
      async () => {
        const routing = await describe();
        if (!routesAs(routing, wanted)) return { seen: routingLine(routing) };
        if (routing.settled) return { done: routing };
        if (Date.now() - since > stuckAfterMs && (await taskQueuesRouteAs(buildId, wanted))) {
          return { done: { ...routing, confirmedByTaskQueues: true } };
        }
        return { seen: routingLine(routing) };
      },
      options,
    );
  }

  /** The version once its workers have polled: a version the server has not seen cannot take traffic. */
  function waitForVersion(buildId: string, options: WaitOptions = {}): Promise<DeploymentRouting> {
    return waitFor<DeploymentRouting>(
      `build ${buildId} to poll in deployment ${deploymentName}`,
      async () => {
        const routing = await describe().catch((error: Error) => error);
        if (routing instanceof Error) return { seen: routing.message };
        return routing.versions.some((v) => v.buildId === buildId)
          ? { done: routing }
          : { seen: `builds ${routing.versions.map((v) => v.buildId).join(', ') || 'none'}` };
      },
      options,
    );
  }

  /** Makes `buildId` the version every new order starts on (and ends any ramp); rolling back is the same call. */
  async function promote(buildId: string, options: WaitOptions = {}): Promise<DeploymentRouting> {
    const { conflictToken } = await waitForVersion(buildId, options);
    await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName, buildId, conflictToken, identity });
    return waitForRouting(buildId, { current: buildId }, options);
  }

  /** Sends `percentage` of new orders to `buildId`, the rest to the current version. */
  async function ramp(buildId: string, percentage: number, options: WaitOptions = {}): Promise<DeploymentRouting> {
    if (!(percentage >= 0 && percentage <= 100)) throw new RangeError(`ramp percentage ${percentage}: 0 to 100`);
    const { conflictToken, current } = await waitForVersion(buildId, options);
    await service.setWorkerDeploymentRampingVersion({
      namespace,
      deploymentName,
      buildId,
      percentage,
      conflictToken,
      identity,
    });
    return waitForRouting(buildId, { current, ramping: { buildId, percentage } }, options);
  }

  /**
   * Resolves once the server finds no open order pinned to `buildId` (it counts them from visibility, by default every
   * 3 minutes after a grace period of 3: matching.wv.VersionDrainageStatus*), with the time it said so.
   */
  function waitUntilDrained(buildId: string, options: WaitOptions = {}): Promise<VersionSummary> {
    return waitFor<VersionSummary>(
      `build ${buildId} to drain`,
      async () => {
        const version = (await describe()).versions.find((v) => v.buildId === buildId);
        if (!version) throw new Error(`build ${buildId} is not a version of deployment ${deploymentName}`);
        return version.status === 'drained' ? { done: version } : { seen: version.status };
      },
      options,
    );
  }

  /** Open workflows of `workflowType` that no versioned worker has taken a task of yet (visibility may lag a little). */
  const unversionedQuery = (workflowType: string) =>
    `WorkflowType = '${workflowType}' AND ExecutionStatus = 'Running' AND TemporalWorkerDeploymentVersion IS NULL`;

  async function countUnversioned(workflowType: string): Promise<number> {
    return (await client.workflow.count(unversionedQuery(workflowType))).count;
  }

  /**
   * Pins to `buildId` every open workflow of `workflowType` that no versioned worker has taken a task of yet; returns
   * their ids. Such a workflow goes to whatever build is current at its next task, a timer that may fire hours later,
   * when a build its history cannot replay may be current: pin them to the first versioned build, which runs the same
   * code, before any other build is ramped or promoted. One that closed meanwhile is skipped.
   */
  async function pinUnversioned(buildId: string, workflowType: string): Promise<string[]> {
    const open: { workflowId: string; runId: string }[] = [];
    for await (const { workflowId, runId } of client.workflow.list({ query: unversionedQuery(workflowType) })) {
      open.push({ workflowId, runId });
    }
    const pinned: string[] = [];
    for (const execution of open) {
      const done = await service
        .updateWorkflowExecutionOptions({
          namespace,
          workflowExecution: execution,
          workflowExecutionOptions: {
            versioningOverride: {
              pinned: {
                behavior: PinnedOverrideBehavior.PINNED_OVERRIDE_BEHAVIOR_PINNED,
                version: { deploymentName, buildId },
              },
            },
          },
          updateMask: { paths: ['versioning_override'] },
          identity,
        })
        .then(
          () => true,
          (error: { code?: number }) => {
            if (error.code === NOT_FOUND) return false;
            throw error;
          },
        );
      if (done) pinned.push(execution.workflowId);
    }
    return pinned;
  }

  /** Forgets a drained version whose workers are gone; the server refuses while it drains or its workers still poll. */
  async function retire(buildId: string): Promise<void> {
    await service.deleteWorkerDeploymentVersion({
      namespace,
      deploymentVersion: { deploymentName, buildId },
      identity,
    });
  }

  return { describe, waitForVersion, promote, ramp, waitUntilDrained, countUnversioned, pinUnversioned, retire };
}

export type WorkerDeployment = ReturnType<typeof workerDeployment>;
