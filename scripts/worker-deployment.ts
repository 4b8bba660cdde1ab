// `npm run worker-deployment -- <command>`: the orders worker's Worker Deployment Versions, for an operator
// (docs/worker-versioning.md). Unlike the `temporal worker deployment` commands of CLI 1.5.1, every routing change
// returns only once it is in effect: the server says it has propagated it, or (its report stuck past --stuck-after,
// temporalio/temporal#11842) the task queues route by it; `describe` says whether a change is still under way.
//   describe                          every version with its status and drainage, where new orders go, and how many
//                                     open orders no version has taken yet
//   pin-unversioned <build-id>        pin those to the build (the migration's last step, before any other build)
//   smoke <build-id>                  start one order pinned to the build, current or not, and see it run there
//   ramp <build-id> <percentage>      that share of new orders to the build, the rest to the current one
//   promote <build-id>                every new order to the build (a rollback promotes the earlier build)
//   wait-drained <build-id>           until no open order is pinned to the build
//   retire <build-id>                 forget a drained build whose workers are stopped
// The deployment is TEMPORAL_DEPLOYMENT_NAME or --deployment-name; Temporal's address and the payload keys as for the
// workers.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { ConfigError, loadConfig, type Config } from '../src/config';
import { configuredPayloadCodec } from '../src/payload-codec';
import {
  customerIdSearchAttribute,
  ORDERS_TASK_QUEUE,
  orderStateSearchAttribute,
  orderWorkflowId,
  orderWorkflowType,
  statusQuery,
  type OrderWorkflowInput,
} from '../src/domain';
import { workerDeployment, type DeploymentRouting } from '../src/workers/deployment-versions';

const usage =
  'usage: npm run worker-deployment -- [--deployment-name <name>] [--timeout <seconds>] [--stuck-after <seconds>] ' +
  '(describe | pin-unversioned <build-id> | smoke <build-id> [--customer <id>] | ramp <build-id> <percentage> | ' +
  'promote <build-id> | ' +
  'wait-drained <build-id> | retire <build-id>)';

function print(routing: DeploymentRouting, unversioned?: number): void {
  const ramp = routing.ramping ? `, ${routing.ramping.percentage}% to ${routing.ramping.buildId}` : '';
  console.log(`deployment ${routing.deploymentName}: new orders to ${routing.current ?? 'unversioned workers'}${ramp}`);
  if (routing.confirmedByTaskQueues) {
    console.log(
      '  (the server still reports this change as propagating, but the task queues already route by it: ' +
        'temporalio/temporal#11842, see docs/worker-versioning.md)',
    );
  } else if (!routing.settled) console.log('  (the last routing change is still propagating to the task queues)');
  for (const { buildId, status, drainageCheckedAt, drainageChangedAt } of routing.versions) {
    const drainage =
      status === 'draining' ? ` (open orders last counted ${drainageCheckedAt?.toISOString() ?? 'not yet'})` : '';
    const drained = status === 'drained' ? ` since ${drainageChangedAt?.toISOString() ?? '?'}` : '';
    console.log(`  ${buildId}  ${status}${drained}${drainage}`);
  }
  if (unversioned) {
    console.log(
      `  ${unversioned} open orders no version has taken yet: pin them (pin-unversioned) before another build`,
    );
  }
}

/**
 * One real order (of `customerId`, approved by the mock gateway) started pinned to `version` by an override, whether or
 * not it is current: resolves once that build has run its first task and answers for it.
 */
async function smokeOrder(client: Client, version: WorkerDeploymentVersion, customerId: string, config: Config) {
  const orderId = randomUUID();
  const input: OrderWorkflowInput = {
    order: {
      id: orderId,
      customerId,
      items: [{ sku: 'SMOKE-TEST', quantity: 1, unitPrice: 100 }],
      currency: 'MYR',
      paymentToken: 'tok_approve',
    },
    deliveryDelaySeconds: config.DELIVERY_DELAY_SECONDS,
  };
  const handle = await client.workflow.start(orderWorkflowType, {
    workflowId: orderWorkflowId(orderId),
    taskQueue: ORDERS_TASK_QUEUE,
    args: [input],
    typedSearchAttributes: [
      { key: orderStateSearchAttribute, value: 'created' },
      { key: customerIdSearchAttribute, value: customerId },
    ],
    versioningOverride: { pinnedTo: version },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { raw } = await handle.describe();
    if (raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId === version.buildId) {
      const { state } = await handle.query(statusQuery);
      return { orderId, state };
    }
    if (Date.now() > deadline)
      throw new Error(`build ${version.buildId} did not run order ${orderId}: do its workers poll?`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'deployment-name': { type: 'string' },
      timeout: { type: 'string', default: '300' },
      'stuck-after': { type: 'string', default: '20' },
      customer: { type: 'string', default: 'smoke-test' },
    },
  });
  const config = loadConfig();
  const deploymentName = values['deployment-name'] ?? config.workerDeploymentVersion?.deploymentName;
  if (!deploymentName)
    throw new ConfigError(`no deployment: set TEMPORAL_DEPLOYMENT_NAME or --deployment-name\n${usage}`);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new ConfigError(`--timeout ${values.timeout}: a number of seconds`);
  const stuckAfterMs = Number(values['stuck-after']) * 1000;
  if (!(stuckAfterMs >= 0)) throw new ConfigError(`--stuck-after ${values['stuck-after']}: a number of seconds`);
  const [command, buildId, percentage] = positionals;
  const needsBuild = command !== 'describe';
  if (!command || (needsBuild && !buildId) || (command === 'ramp') !== (percentage !== undefined)) {
    throw new ConfigError(usage);
  }
  const connection = await Connection.connect(config.temporal.connectionOptions);
  try {
    // The smoke order's payloads are encrypted like every other order's (src/payload-codec.ts).
    const dataConverter = { payloadCodecs: [await configuredPayloadCodec(config)] };
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const deployment = workerDeployment(client, deploymentName);
    const options = { timeoutMs, stuckAfterMs };
    switch (command) {
      case 'describe':
        return print(await deployment.describe(), await deployment.countUnversioned(orderWorkflowType));
      case 'pin-unversioned': {
        const pinned = await deployment.pinUnversioned(buildId, orderWorkflowType);
        return console.log(`${pinned.length} open orders no version had taken are pinned to ${buildId}`);
      }
      case 'smoke': {
        const { orderId, state } = await smokeOrder(client, { deploymentName, buildId }, values.customer, config);
        return console.log(
          `order ${orderId} runs on ${buildId} (${state}); follow it: temporal workflow describe ` +
            `--workflow-id ${orderWorkflowId(orderId)}`,
        );
      }
      case 'ramp':
        return print(await deployment.ramp(buildId, Number(percentage), options));
      case 'promote':
        return print(await deployment.promote(buildId, options));
      case 'wait-drained': {
        const { drainageChangedAt } = await deployment.waitUntilDrained(buildId, options);
        return console.log(`${buildId} drained at ${drainageChangedAt?.toISOString()}: no open order is pinned to it`);
      }
      case 'retire':
        await deployment.retire(buildId);
        return console.log(`${buildId} retired from ${deploymentName}`);
      default:
        throw new ConfigError(`unknown command ${command}\n${usage}`);
    }
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(`worker-deployment: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
