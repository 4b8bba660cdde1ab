// `npm run bench [-- --quick] [--api URL --temporal ADDR --database URL] [--env KEY=VALUE ...]`: starts the full stack
// (or drives the one given), measures it under bounded load, prints the tables and writes the figures as JSON.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BaselineWorker,
  bundleBaselineWorkflows,
  InsertBaseline,
  oneActivityBaseline,
  workflowStartBaseline,
} from './baselines';
import { measureCreate } from './create';
import { measureOpenOrders } from './footprint';
import { measureLifecycle } from './lifecycle';
import { closeConnections, type LoopResult } from './load';
import { defaultPlan, LIFECYCLE_DELIVERY_DELAY_SECONDS, quickPlan, type BenchPlan } from './plan';
import { Progress } from './progress';
import { measureRecovery } from './recovery';
import { renderReport, writeReport, type BenchReport, type CreateFigures, type Throughput } from './report';
import { ProcessSampler } from './sampler';
import { distribution, perSecond } from './stats';
import { connectExternalTarget, startEmbeddedTarget, type BenchTarget } from './target';
import { deliveryDelayMsOf, timerAccuracy } from './timers';

const USAGE = `usage: npm run bench [-- --quick] [--api URL --temporal HOST:PORT --database URL [--namespace NS]] [--env KEY=VALUE ...]
  --quick        about a minute: smaller counts and windows (a smoke check)
  --api, --temporal, --database
                 drive a stack that is already running instead of starting one (all three together)
  --env KEY=VALUE
                 a product setting for every service of the bench's own stack, e.g. WORKER_WORKFLOW_CACHE_SIZE=500`;

interface Options {
  plan: BenchPlan;
  external?: { apiUrl: string; temporalAddress: string; databaseUrl: string; namespace: string };
  serviceEnv: Record<string, string>;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      api: { type: 'string' },
      temporal: { type: 'string' },
      database: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      env: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const given = [values.api, values.temporal, values.database].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) throw new UsageError('--api, --temporal and --database go together');
  const serviceEnv: Record<string, string> = {};
  for (const pair of values.env) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--env ${pair}: expected KEY=VALUE`);
    serviceEnv[match[1]] = match[2];
  }
  if (given === 3 && Object.keys(serviceEnv).length > 0)
    throw new UsageError("--env applies to the bench's own stack only");
  return {
    plan: values.quick ? quickPlan : defaultPlan,
    serviceEnv,
    external:
      values.api && values.temporal && values.database
        ? {
            apiUrl: values.api.replace(/\/$/, ''),
            temporalAddress: values.temporal,
            databaseUrl: values.database,
            namespace: values.namespace,
          }
        : undefined,
  };
}

class UsageError extends Error {}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: __dirname,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return 'nogit';
  }
}

function throughput(result: LoopResult): Throughput {
  return {
    completed: result.completed,
    failed: result.failed,
    failures: result.failures,
    perSecond: perSecond(result.completed, result.elapsedMs),
    latencyMs: distribution(result.latenciesMs),
  };
}

/** Everything the run started, stopped once, whether it ends normally, fails or is interrupted. */
class Resources {
  target: BenchTarget | undefined;
  baseline: BaselineWorker | undefined;
  insert: InsertBaseline | undefined;
  sampler: ProcessSampler | undefined;
  private stopping: Promise<void> | undefined;

  stop(progress: Progress): Promise<void> {
    this.stopping ??= (async () => {
      progress.log('stopping the stack');
      this.sampler?.stop();
      closeConnections();
      const steps = [() => this.insert?.close(), () => this.baseline?.stop(), () => this.target?.stop()];
      for (const step of steps)
        await Promise.resolve(step()).catch((error: unknown) => progress.log(`cleanup: ${String(error)}`));
    })();
    return this.stopping;
  }
}

async function bench(
  { plan, external, serviceEnv }: Options,
  resources: Resources,
  progress: Progress,
): Promise<BenchReport> {
  const startedAt = new Date();
  const loadStart = loadavg()[0];
  const runId = randomUUID().slice(0, 8);
  const notes = [...plan.scaledDown];

  progress.update(external ? 'connecting to the given stack' : 'starting the stack (Postgres, Temporal, workers, API)');
  const bundle = bundleBaselineWorkflows();
  bundle.catch(() => undefined); // awaited below; a failure of the stack start must not leave it unhandled
  const target = external
    ? await connectExternalTarget(external)
    : await startEmbeddedTarget({ deliveryDelaySeconds: LIFECYCLE_DELIVERY_DELAY_SECONDS, serviceEnv });
  resources.target = target;
  resources.baseline = await BaselineWorker.start(target.temporalAddress, target.namespace, await bundle);
  const sampler = new ProcessSampler(process.pid);
  resources.sampler = sampler;
  sampler.start();
  const idle = await sampler.sampleNow();
  progress.log(`stack up${target.logDir ? `; process logs in ${target.logDir}` : ''}`);
  if (external)
    notes.push(
      "external stack: per-process footprint, the cache-size restarts and the recovery need the bench's own stack and are skipped",
    );

  // Baselines level by level beside the creates, so a busy neighbour on a shared machine skews them alike.
  let endPhase = await sampler.phase('create');
  resources.insert = await InsertBaseline.prepare(target.databaseUrl, runId);
  const create: CreateFigures[] = [];
  for (const level of plan.create) {
    const count = level.orders * 2;
    const maxMs = plan.baselineMaxMs;
    const insert = await resources.insert.run({
      concurrency: level.concurrency,
      count,
      maxMs,
      onProgress: (done) => progress.update(`baseline insert c=${level.concurrency}: ${done}/${count} rows`),
    });
    const start = await workflowStartBaseline(target.client, resources.baseline, {
      concurrency: level.concurrency,
      count,
      maxMs,
      onProgress: (done) =>
        progress.update(`baseline workflow start c=${level.concurrency}: ${done}/${count} workflows`),
    });
    const [created] = await measureCreate(target, runId, [level], progress, plan.createDrainTimeoutMs);
    create.push({
      concurrency: level.concurrency,
      ...throughput(created.load),
      drainMs: created.drainMs,
      insertBaseline: throughput(insert),
      workflowStartBaseline: throughput(start),
    });
  }
  await resources.insert.close();
  resources.insert = undefined;
  await endPhase();

  endPhase = await sampler.phase('lifecycle');
  const life = await measureLifecycle(target, runId, plan.lifecycle, LIFECYCLE_DELIVERY_DELAY_SECONDS * 1000, progress);
  const delivered = life.rows.find((row) => row.deliveredAt !== undefined);
  const delayMs =
    (delivered && (await deliveryDelayMsOf(target.client, delivered.id))) ?? LIFECYCLE_DELIVERY_DELAY_SECONDS * 1000;
  const timers = await timerAccuracy(target.client, life.rows, delayMs, plan.timerSample);
  await endPhase();

  endPhase = await sampler.phase('baseline');
  const baselineRun = await oneActivityBaseline(target.client, resources.baseline, {
    count: life.load.completed,
    concurrency: plan.lifecycle.concurrency,
    timeoutMs: plan.lifecycle.loadMs + plan.lifecycle.drainTimeoutMs,
    onProgress: (done) => progress.update(`baseline one-activity workflows: ${done}/${life.load.completed} completed`),
  });
  await endPhase();

  endPhase = await sampler.phase('open orders');
  const openOrders = await measureOpenOrders(target, runId, plan.openOrders, serviceEnv, sampler, progress);
  await endPhase();

  let recovery;
  const ordersWorker = target.ordersWorker;
  if (ordersWorker) {
    endPhase = await sampler.phase('recovery');
    recovery = await measureRecovery(
      { ...target, ordersWorker },
      runId,
      { ...plan.recovery, confirmRate: openOrders.fillPerSecond },
      progress,
    );
    await endPhase();
  }

  return {
    meta: {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      plan: plan.name,
      commit: gitCommit(),
      node: process.version,
      cpus: cpus().length,
      loadAverage: { start: loadStart, end: loadavg()[0] },
      target: target.kind,
      serviceEnv,
      notes,
    },
    create,
    lifecycle: {
      concurrency: life.concurrency,
      deliveryDelayMs: delayMs,
      loadMs: life.load.elapsedMs,
      orders: life.load.completed,
      failed: life.load.failed,
      failures: life.load.failures,
      createdPerSecond: life.createdPerSecond,
      sustainedDeliveredPerSecond: life.sustainedDeliveredPerSecond,
      endToEndPerSecond: life.endToEndPerSecond,
      createLatencyMs: distribution(life.load.latenciesMs),
      backlog: life.backlog,
      drainMs: life.drainMs,
      baseline: { ...baselineRun, perSecond: perSecond(baselineRun.completed, baselineRun.elapsedMs) },
    },
    timers,
    footprint: {
      idleRssBytes: Object.fromEntries(idle.readings.map((r) => [r.name, r.rssBytes])),
      phases: sampler.recordedPhases,
      openOrders,
    },
    recovery,
  };
}

async function main(): Promise<void> {
  const progress = new Progress();
  let opts: Options;
  try {
    opts = options(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const resources = new Resources();
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the stack's exit hook kills what is left
    interrupted = true;
    progress.log(`${signal}: stopping`);
    void resources.stop(progress).finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  let report: BenchReport;
  try {
    report = await bench(opts, resources, progress);
  } catch (error) {
    if (interrupted) return;
    progress.log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await resources.stop(progress);
    process.exit(1);
  }
  await resources.stop(progress);
  const path = await writeReport(report, join(__dirname, 'results'));
  console.log(renderReport(report));
  console.log(`\nfigures: ${path}`);
  process.exit(0);
}

void main();
