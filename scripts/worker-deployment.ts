// `npm run worker-deployment -- <command>`: the orders worker's Worker Deployment Versions, for an operator
// (docs/worker-versioning.md). Unlike the `temporal worker deployment` commands of CLI 1.5.1, every routing change
// returns only once the server has finished propagating it, and `describe` says whether a change is still under way.
//   describe                          every version with its status and drainage, and where new orders go
//   ramp <build-id> <percentage>      that share of new orders to the build, the rest to the current one
//   promote <build-id>                every new order to the build (a rollback promotes the earlier build)
//   wait-drained <build-id>           until no open order is pinned to the build
//   retire <build-id>                 forget a drained build whose workers are stopped
// The deployment is TEMPORAL_DEPLOYMENT_NAME or --deployment-name; Temporal's address as for the workers.
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../src/config';
import { workerDeployment, type DeploymentRouting } from '../src/workers/deployment-versions';

const usage =
  'usage: npm run worker-deployment -- [--deployment-name <name>] [--timeout <seconds>] ' +
  '(describe | ramp <build-id> <percentage> | promote <build-id> | wait-drained <build-id> | retire <build-id>)';

function print(routing: DeploymentRouting): void {
  const ramp = routing.ramping ? `, ${routing.ramping.percentage}% to ${routing.ramping.buildId}` : '';
  console.log(`deployment ${routing.deploymentName}: new orders to ${routing.current ?? 'unversioned workers'}${ramp}`);
  if (!routing.settled) console.log('  (the last routing change is still propagating to the task queues)');
  for (const { buildId, status, drainageCheckedAt, drainageChangedAt } of routing.versions) {
    const drainage =
      status === 'draining' ? ` (open orders last counted ${drainageCheckedAt?.toISOString() ?? 'not yet'})` : '';
    const drained = status === 'drained' ? ` since ${drainageChangedAt?.toISOString() ?? '?'}` : '';
    console.log(`  ${buildId}  ${status}${drained}${drainage}`);
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
    if (command === 'describe') print(await deployment.describe());
    else if (command === 'ramp') print(await deployment.ramp(buildId, Number(percentage), options));
    else if (command === 'promote') print(await deployment.promote(buildId, options));
    else if (command === 'wait-drained') {
      const { drainageChangedAt } = await deployment.waitUntilDrained(buildId, options);
      console.log(`${buildId} drained at ${drainageChangedAt?.toISOString() ?? '?'}: no open order is pinned to it`);
    } else if (command === 'retire') {
      await deployment.retire(buildId);
      console.log(`${buildId} retired from ${deploymentName}`);
    } else throw new ConfigError(`unknown command ${command}\n${usage}`);
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(`worker-deployment: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
