// `npm run bench [-- --quick] [--api URL --temporal ADDR --database URL] [--env KEY=VALUE ...]`: starts the full stack
// (or drives the one given), measures it under bounded load, prints the tables and writes the figures as JSON.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { measureBacklogCheck } from './backlog-check';
import { measureSecurityCost } from './security-cost';
import {
  BaselineWorker,
  bundleBaselineWorkflows,
  InsertBaseline,
  oneActivityArrivals,
  oneActivityBaseline,
  workflowStartBaseline,
} from './baselines';
import { measureCreate } from './create';
import { measureOpenOrders } from './footprint';
import { measureLifecycle } from './lifecycle';
import { profilePlans, profileStack, renderProfile } from './profile';
import { closeConnections, throughput } from './load';
import { measureSustainedRate, type OpenLoopResult } from './open-loop';
import { openLoopCustomer, orderArrivals, type ApiEndpoint } from './orders';
import { measureBesideSeed } from './seed';
import { defaultPlan, LIFECYCLE_DELIVERY_DELAY_SECONDS, quickPlan, type BenchPlan } from './plan';
import { Progress } from './progress';
import { measureRecovery } from './recovery';
import {
  renderReport,
  writeReport,
  type BenchReport,
  type CreateFigures,
  type LifecycleFigures,
  type OpenLoopFigures,
} from './report';
import { ProcessSampler } from './sampler';
import { distribution, perSecond } from './stats';
import type { TemporalKind } from '../dev/stack/stack';
import { connectExternalTarget, startEmbeddedTarget, type BenchTarget, type ExternalAddresses } from './target';
import { deliveryRows, timerAccuracy } from './timers';

const USAGE = `usage: npm run bench [-- --quick] [--temporal-server dev|real] [--temporal-nodes N] [--workers N]
                     [--env KEY=VALUE ...]
                     [--api URL --token JWT --temporal HOST:PORT --database URL [--namespace NS]]
  --quick          about a minute or two: small counts and short windows (a smoke check)
  --temporal-server dev (default): the Temporal dev server \`npm start\` runs; real: the production
                   temporal-server persisting in the stack's PostgreSQL, as docker-compose runs it
  --temporal-nodes N  N production temporal-server nodes (1 to 3) on 127.0.0.2, 127.0.0.3, … over the same
                   PostgreSQL, HAProxy in front of their frontends (implies --temporal-server real; default 1)
  --workers N      N orders workers and N payments workers in the bench's own stack (default 1)
  --api, --token, --temporal, --database
                   drive a stack that is already running instead of starting one (all four together;
                   --token: an operator token for that API, e.g. from \`npm run token -- --operator\`)
  --env KEY=VALUE  a product setting for every service of the bench's own stack (repeatable),
                   e.g. --env WORKER_WORKFLOW_CACHE_SIZE=500 --env DB_POOL_MAX=20
  --seed URL       also create orders on the seed build's API at URL (NestJS + bull/Redis, run separately),
                   c=16 and c=64, rounds alternating with this stack's, 30 s apart (--seed-token: its Bearer token)
  --render FILE    print the tables of a run's JSON again, measuring nothing
  --profile DIR    where an order's CPU goes instead of the report: the lifecycle load on the bench's own stack
                   with every Node process under --cpu-prof and the Temporal server's pprof, in ms per order by
                   process, thread and package; the raw profiles stay in DIR (with --quick: a smaller load)`;

class UsageError extends Error {}

interface Options {
  plan: BenchPlan;
  external?: ExternalAddresses;
  serviceEnv: Record<string, string>;
  temporalServer: TemporalKind;
  temporalNodes: number;
  workers: number;
  /** `--profile DIR`: profile the lifecycle instead of the full report. */
  profileDir?: string;
  /** `--seed URL`: the seed build's API, driven beside this stack's for create. */
  seed?: ApiEndpoint;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      api: { type: 'string' },
      token: { type: 'string' },
      temporal: { type: 'string' },
      database: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      env: { type: 'string', multiple: true, default: [] },
      'temporal-server': { type: 'string' },
      'temporal-nodes': { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      render: { type: 'string' },
      profile: { type: 'string' },
      seed: { type: 'string' },
      'seed-token': { type: 'string', default: '' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.render) {
    console.log(renderReport(JSON.parse(readFileSync(values.render, 'utf8')) as BenchReport));
    process.exit(0);
  }
  const serviceEnv: Record<string, string> = {};
  for (const pair of values.env) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--env ${pair}: expected KEY=VALUE`);
    serviceEnv[match[1]] = match[2];
  }
  const plan = values.quick ? quickPlan : defaultPlan;
  const temporalNodes = Number(values['temporal-nodes']);
  if (!Number.isInteger(temporalNodes) || temporalNodes < 1 || temporalNodes > 3)
    throw new UsageError('--temporal-nodes: expected 1 to 3');
  const temporalServer = values['temporal-server'] ?? (temporalNodes > 1 ? 'real' : 'dev');
  if (temporalServer !== 'dev' && temporalServer !== 'real')
    throw new UsageError(`--temporal-server ${temporalServer}: expected dev or real`);
  if (temporalNodes > 1 && temporalServer !== 'real')
    throw new UsageError('--temporal-nodes: a cluster is of production servers (--temporal-server real)');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 8) throw new UsageError('--workers: expected 1 to 8');
  const seed =
    values.seed === undefined ? undefined : { url: values.seed.replace(/\/$/, ''), token: values['seed-token'] };
  const own = { plan, serviceEnv, temporalServer, temporalNodes, workers, profileDir: values.profile, seed } as const;
  const { api, token, temporal, database } = values;
  const given = [api, token, temporal, database];
  if (values.profile !== undefined && (workers !== 1 || temporalNodes !== 1))
    throw new UsageError('--profile runs one worker of each kind and one Temporal node');
  if (given.every((value) => value === undefined)) return own;
  if (values.profile !== undefined) throw new UsageError("--profile needs the bench's own stack");
  if (api === undefined || token === undefined || temporal === undefined || database === undefined)
    throw new UsageError('--api, --token, --temporal and --database go together');
  if (Object.keys(serviceEnv).length > 0) throw new UsageError("--env applies to the bench's own stack only");
  if (temporalServer !== 'dev' || temporalNodes !== 1 || workers !== 1)
    throw new UsageError("--temporal-server, --temporal-nodes and --workers apply to the bench's own stack only");
  return {
    ...own,
    external: {
      apiUrl: api.replace(/\/$/, ''),
      apiToken: token,
      temporalAddress: temporal,
      databaseUrl: database,
      namespace: values.namespace,
    },
  };
}

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
      for (const step of steps) {
        await Promise.resolve()
          .then(step)
          .catch((error: unknown) => progress.log(`cleanup: ${String(error)}`));
      }
    })();
    return this.stopping;
  }
}

interface Run {
  plan: BenchPlan;
  runId: string;
  target: BenchTarget;
  baseline: BaselineWorker;
  sampler: ProcessSampler;
  progress: Progress;
  resources: Resources;
}

/** POST /orders level by level, each beside its baselines, so a busy neighbour on a shared machine skews them alike. */
async function createFigures({ plan, runId, target, baseline, progress, resources }: Run): Promise<CreateFigures[]> {
  const insertBaseline = await InsertBaseline.prepare(target.databaseUrl, runId);
  resources.insert = insertBaseline;
  const figures: CreateFigures[] = [];
  for (const level of plan.create) {
    const { concurrency } = level;
    const count = level.orders * 2;
    const maxMs = plan.baselineMaxMs;
    const insert = await insertBaseline.run({
      concurrency,
      count,
      maxMs,
      onProgress: (done) => progress.update(`baseline insert c=${concurrency}: ${done}/${count} rows`),
    });
    const start = await workflowStartBaseline(target.client, baseline, {
      concurrency,
      count,
      maxMs,
      onProgress: (done) => progress.update(`baseline workflow start c=${concurrency}: ${done}/${count} workflows`),
    });
    const [created] = await measureCreate(target, runId, [level], progress, plan.createDrainTimeoutMs);
    figures.push({
      concurrency,
      ...throughput(created.load),
      drainMs: created.drainMs,
      insertBaseline: throughput(insert),
      workflowStartBaseline: throughput(start),
    });
  }
  resources.insert = undefined;
  await insertBaseline.close();
  return figures;
}

async function lifecycleFigures(run: Run) {
  const { plan, runId, target, baseline, sampler, progress } = run;
  const endPhase = await sampler.phase('lifecycle');
  const life = await measureLifecycle(target, runId, plan.lifecycle, LIFECYCLE_DELIVERY_DELAY_SECONDS * 1000, progress);
  const phase = await endPhase();

  const endBaseline = await sampler.phase('baseline');
  const count = life.load.completed;
  const baselineRun = await oneActivityBaseline(target.client, baseline, {
    count,
    concurrency: plan.lifecycle.concurrency,
    timeoutMs: plan.lifecycle.loadMs + plan.lifecycle.drainTimeoutMs,
    onProgress: (done) => progress.update(`baseline one-activity workflows: ${done}/${count} completed`),
  });
  await endBaseline();

  const lifecycle: LifecycleFigures = {
    concurrency: life.concurrency,
    deliveryDelayMs: life.deliveryDelayMs,
    loadMs: life.load.elapsedMs,
    orders: count,
    failed: life.load.failed,
    failures: life.load.failures,
    createdPerSecond: life.createdPerSecond,
    sustainedDeliveredPerSecond: life.sustainedDeliveredPerSecond,
    endToEndPerSecond: life.endToEndPerSecond,
    createLatencyMs: distribution(life.load.latenciesMs),
    backlog: life.backlog,
    drainMs: life.drainMs,
    cpuMsPerOrder: Object.fromEntries(
      phase.processes.map((p) => [p.name, count > 0 ? (p.cpuSeconds * 1000) / count : Number.NaN]),
    ),
    baseline: { ...baselineRun, perSecond: perSecond(baselineRun.completed, baselineRun.elapsedMs) },
  };
  return { lifecycle, life };
}

/** The sustained open-loop rate of the orders, then of the one-activity baseline, searched from the lifecycle's. */
async function openLoopFigures(run: Run, lifecycle: LifecycleFigures): Promise<OpenLoopFigures> {
  const { plan, runId, target, baseline, sampler, progress } = run;
  const endOrders = await sampler.phase('open loop');
  const orders = await measureSustainedRate(
    orderArrivals(target.endpoint, target.db, runId, lifecycle.deliveryDelayMs),
    plan.openLoop.orders,
    lifecycle.endToEndPerSecond,
    progress,
  );
  await endOrders();
  const endBaseline = await sampler.phase('open-loop baseline');
  const oneActivity = await measureSustainedRate(
    oneActivityArrivals(target.client, baseline),
    plan.openLoop.baseline,
    lifecycle.baseline.perSecond,
    progress,
  );
  await endBaseline();
  return { orders, baseline: oneActivity };
}

/** The held open-loop step's orders: delivery lateness at the sustained rate, not under a burst. */
function heldStep(result: OpenLoopResult) {
  return [...result.steps].reverse().find((step) => step.held && step.kind === 'hold');
}

async function bench(options: Options, resources: Resources, progress: Progress): Promise<BenchReport> {
  const { plan, external, serviceEnv, temporalServer, temporalNodes, workers } = options;
  const startedAt = new Date();
  const loadStart = loadavg()[0];

  progress.update(external ? 'connecting to the given stack' : 'starting the stack (Postgres, Temporal, workers, API)');
  const bundle = bundleBaselineWorkflows();
  bundle.catch(() => undefined); // awaited below; a failed stack start must not leave it unhandled
  const target = external
    ? await connectExternalTarget(external)
    : await startEmbeddedTarget({
        deliveryDelaySeconds: LIFECYCLE_DELIVERY_DELAY_SECONDS,
        serviceEnv,
        temporalServer,
        temporalNodes,
        workers,
      });
  resources.target = target;
  const startupSeconds = (Date.now() - startedAt.getTime()) / 1000;
  const baseline = await BaselineWorker.start(target.temporalAddress, target.namespace, await bundle);
  resources.baseline = baseline;
  const sampler = new ProcessSampler(process.pid);
  resources.sampler = sampler;
  sampler.start();
  const idle = await sampler.sampleNow();
  progress.log(
    `stack up in ${startupSeconds.toFixed(0)} s${target.logDir ? `; process logs in ${target.logDir}` : ''}`,
  );

  const run: Run = { plan, runId: randomUUID().slice(0, 8), target, baseline, sampler, progress, resources };
  const notes = [...plan.scaledDown];
  if (external) {
    notes.push(
      "external stack: per-process footprint, open orders (they would wait an hour in someone else's stack) and the recovery need the bench's own stack; skipped",
    );
  }

  const endCreate = await sampler.phase('create');
  const create = await createFigures(run);
  await endCreate();
  const seed = options.seed && (await measureBesideSeed(target.endpoint, options.seed, run.runId, plan.seed, progress));

  const api = target.api;
  const configuredMaxBacklog = serviceEnv.ORDERS_MAX_BACKLOG;
  // A product of before the backlog check (an A/B against an older commit) has no such setting.
  const hasBacklogCheck = 'ORDERS_MAX_BACKLOG' in loadConfig({});
  if (!hasBacklogCheck) notes.push('this product has no ORDERS_MAX_BACKLOG: the backlog check is not measured');
  let backlogCheck;
  if (api && hasBacklogCheck && configuredMaxBacklog !== '0') {
    backlogCheck = await measureBacklogCheck(
      { ...target, api },
      run.runId,
      plan.backlogCheck,
      configuredMaxBacklog,
      sampler,
      progress,
    );
  }

  const { lifecycle, life } = await lifecycleFigures(run);
  const sampleOrder = life.rows.find((row) => row.deliveredAt !== undefined)?.id;
  const security = sampleOrder ? await measureSecurityCost(target.client, sampleOrder) : undefined;
  const openLoop = await openLoopFigures(run, lifecycle);
  const held = heldStep(openLoop.orders);
  const timerRows = held ? await deliveryRows(target.db, openLoopCustomer(held.stepLabel, run.runId)) : life.rows;
  const timers = {
    source: held
      ? `the open-loop orders held at ${held.ratePerSecond}/s for ${(held.windowMs / 1000).toFixed(0)} s`
      : `the lifecycle run (${life.load.completed} orders created at c=${life.concurrency}, a burst)`,
    ...(await timerAccuracy(target.client, timerRows, life.deliveryDelayMs, plan.timerSample)),
  };

  let openOrders;
  let recovery;
  // Both restart or kill one orders worker: with a second one running beside it their figures would mean another thing.
  const ordersWorker = workers === 1 ? target.ordersWorker : undefined;
  if (workers > 1)
    notes.push(`--workers ${workers}: open orders and recovery (one worker restarted or killed) not measured`);
  if (ordersWorker) {
    const endOpen = await sampler.phase('open orders');
    openOrders = await measureOpenOrders(target, run.runId, plan.openOrders, serviceEnv, sampler, progress);
    await endOpen();

    const endRecovery = await sampler.phase('recovery');
    recovery = await measureRecovery(
      { ...target, ordersWorker },
      run.runId,
      { ...plan.recovery, confirmRate: openOrders.fillPerSecond },
      progress,
    );
    await endRecovery();
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
      temporalCli: process.env.TEMPORAL_CLI,
      temporalServer: external ? undefined : temporalServer,
      temporalNodes: external ? undefined : temporalNodes,
      workers: external ? undefined : workers,
      startupSeconds,
      notes,
    },
    create,
    seed,
    backlogCheck,
    lifecycle,
    security,
    openLoop,
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
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
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

  if (options.profileDir !== undefined) {
    const profileDir = options.profileDir;
    try {
      const profiled = await profileStack(
        {
          dir: profileDir,
          plan: profilePlans[options.plan.name],
          serviceEnv: options.serviceEnv,
          temporalServer: options.temporalServer,
          commit: gitCommit(),
          loadAverage: () => loadavg()[0],
        },
        progress,
        (target) => (resources.target = target),
      );
      console.log(renderProfile(profiled));
      process.exit(0);
    } catch (error) {
      if (interrupted) return;
      progress.log(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      await resources.stop(progress);
      process.exit(1);
    }
  }

  let report: BenchReport;
  try {
    report = await bench(options, resources, progress);
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
