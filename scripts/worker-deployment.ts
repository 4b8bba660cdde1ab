// `npm run worker-deployment -- <command>`: the orders worker's Worker Deployment Versions, for an operator
// (docs/worker-versioning.md). Unlike the `temporal worker deployment` commands of CLI 1.5.1, every routing change
// returns only once the server has finished propagating it, and `describe` says whether a change is still under way.
//   describe                          every version with its status and drainage, where new orders go, and how many
//                                     open orders no version has taken yet
//   pin-unversioned <build-id>        pin those to the build (the migration's last step, before any other build)
//   ramp <build-id> <percentage>      that share of new orders to the build, the rest to the current one
//   promote <build-id>                every new order to the build (a rollback promotes the earlier build)
//   wait-drained <build-id>           until no open order is pinned to the build
//   retire <build-id>                 forget a drained build whose workers are stopped
// The deployment is TEMPORAL_DEPLOYMENT_NAME or --deployment-name; Temporal's address as for the workers.
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../src/config';
import { orderWorkflowType } from '../src/domain';
import { workerDeployment, type DeploymentRouting } from '../src/workers/deployment-versions';

const usage =
  'usage: npm run worker-deployment -- [--deployment-name <name>] [--timeout <seconds>] ' +
  '(describe | pin-unversioned <build-id> | ramp <build-id> <percentage> | promote <build-id> | ' +
  'wait-drained <build-id> | retire <build-id>)';

function print(routing: DeploymentRouting, unversioned?: number): void {
  const ramp = routing.ramping ? `, ${routing.ramping.percentage}% to ${routing.ramping.buildId}` : '';
  console.log(`deployment ${routing.deploymentName}: new orders to ${routing.current ?? 'unversioned workers'}${ramp}`);
  if (!routing.settled) console.log('  (the last routing change is still propagating to the task queues)');
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

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'deployment-name': { type: 'string' }, timeout: { type: 'string', default: '300' } },
  });
  const config = loadConfig();
  const deploymentName = values['deployment-name'] ?? config.workerDeploymentVersion?.deploymentName;
  if (!deploymentName)
    throw new ConfigError(`no deployment: set TEMPORAL_DEPLOYMENT_NAME or --deployment-name\n${usage}`);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new ConfigError(`--timeout ${values.timeout}: a number of seconds`);
  const [command, buildId, percentage] = positionals;
  const needsBuild = command !== 'describe';
  if (!command || (needsBuild && !buildId) || (command === 'ramp') !== (percentage !== undefined)) {
    throw new ConfigError(usage);
  }
  const connection = await Connection.connect(config.temporal.connectionOptions);
  try {
    const deployment = workerDeployment(
      new Client({ connection, namespace: config.temporal.namespace }),
      deploymentName,
    );
    const options = { timeoutMs };
    switch (command) {
      case 'describe':
        return print(await deployment.describe(), await deployment.countUnversioned(orderWorkflowType));
      case 'pin-unversioned': {
        const pinned = await deployment.pinUnversioned(buildId, orderWorkflowType);
        return console.log(`${pinned.length} open orders no version had taken are pinned to ${buildId}`);
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
