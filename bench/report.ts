// The bench's figures: one object (written as JSON under bench/results/) and the aligned tables printed on stdout.
import type { SecurityCost } from './security-cost';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BacklogCheckRound } from './backlog-check';
import type { OneActivityResult } from './baselines';
import type { OpenOrdersResult } from './footprint';
import { backlogOf, type BacklogPoint } from './lifecycle';
import type { Throughput } from './load';
import type { OpenLoopResult, OpenLoopStepResult } from './open-loop';
import type { RecoveryResult } from './recovery';
import { seedHeaders, seedRows, type SeedComparison } from './seed';
import type { PhaseFootprint } from './sampler';
import { MiB, round, type Distribution } from './stats';
import type { TimerAccuracy } from './timers';

export interface CreateFigures extends Throughput {
  concurrency: number;
  /** Last answer → every order of the level final (their deliveries), milliseconds. */
  drainMs: number | undefined;
  insertBaseline: Throughput;
  workflowStartBaseline: Throughput;
}

export interface LifecycleFigures {
  concurrency: number;
  deliveryDelayMs: number;
  loadMs: number;
  orders: number;
  failed: number;
  failures: Record<string, number>;
  createdPerSecond: number;
  sustainedDeliveredPerSecond: number;
  endToEndPerSecond: number;
  createLatencyMs: Distribution;
  backlog: BacklogPoint[];
  drainMs: number | undefined;
  /** CPU each process spent per order over the lifecycle run (load and drain), milliseconds. */
  cpuMsPerOrder: Record<string, number>;
  baseline: OneActivityResult & { perSecond: number };
}

export interface OpenLoopFigures {
  orders: OpenLoopResult;
  baseline: OpenLoopResult;
}

export interface BenchReport {
  meta: {
    startedAt: string;
    finishedAt: string;
    plan: 'quick' | 'default';
    commit: string;
    node: string;
    cpus: number;
    /** 1-minute load average when the run started and ended: the machine may be shared. */
    loadAverage: { start: number; end: number };
    target: 'embedded' | 'external';
    /** Product settings given to every service (`--env`). */
    serviceEnv: Record<string, string>;
    /** TEMPORAL_CLI when set: the dev server binary (or a wrapper adding flags) the stack ran. */
    temporalCli: string | undefined;
    /** The bench's own stack: which Temporal server (`dev` or `real`), its nodes (behind HAProxy when more than
     * one), and orders/payments workers of each kind. */
    temporalServer?: 'dev' | 'real';
    temporalNodes?: number;
    workers?: number;
    /** Seconds until the stack answered. */
    startupSeconds: number;
    notes: string[];
  };
  create: CreateFigures[];
  /** `--seed URL`: creates beside the seed build, alternating rounds. */
  seed?: SeedComparison;
  /** Creates with ORDERS_MAX_BACKLOG as configured and off, alternating (the bench's own stack only). */
  backlogCheck?: BacklogCheckRound[];
  lifecycle?: LifecycleFigures;
  /** What the token check and the payload codec cost per order (in-process, the product's own code). */
  security?: SecurityCost;
  openLoop?: OpenLoopFigures;
  /** `source`: which orders the lateness is of. */
  timers?: TimerAccuracy & { source: string };
  footprint: {
    /** RSS of each process once the stack was up, before any load. */
    idleRssBytes: Record<string, number>;
    phases: readonly PhaseFootprint[];
    openOrders?: OpenOrdersResult;
  };
  recovery?: RecoveryResult;
}

type Cell = string | number | undefined;
/** A column: its header and what each row puts in it. */
type Column<T> = readonly [header: string, cell: (row: T, index: number) => Cell];

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || Number.isNaN(value) ? '—' : round(value, digits).toFixed(digits);
const mib = (bytes: number | undefined) => fmt(bytes === undefined ? undefined : bytes / MiB, 0);
const secs = (ms: number | undefined, digits = 1) => fmt(ms === undefined ? undefined : ms / 1000, digits);
const times = (a: number, b: number | undefined) =>
  b === undefined || !(b > 0) || Number.isNaN(a) ? '—' : `${(a / b).toFixed(2)}×`;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: readonly number[]) => (values.length > 0 ? sum(values) / values.length : Number.NaN);

/** Columns right-aligned except the first; a rule under the header. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => (cell === undefined ? '—' : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

/** `table` with each header written beside what fills its column. */
function columns<T>(rows: readonly T[], spec: readonly Column<T>[]): string {
  return table(
    spec.map(([header]) => header),
    rows.map((row, i) => spec.map(([, cell]) => cell(row, i))),
  );
}

/** Columns of a distribution's percentiles, in milliseconds. */
function percentiles<T>(of: (row: T) => Distribution, keys: readonly (keyof Distribution)[], digits = 0): Column<T>[] {
  return keys.map((key) => [`${key} ms`, (row) => fmt(of(row)[key], digits)]);
}

const SPARK = '▁▂▃▄▅▆▇█';

/** One character per sample, scaled to the largest: the backlog's shape over the run. */
function sparkline(values: readonly number[]): string {
  const max = Math.max(...values, 1);
  return values.map((v) => SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1)))]).join('');
}

function failureText(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  return entries.length === 0 ? '0' : entries.map(([kind, n]) => `${n} ${kind}`).join(', ');
}

/** CPU per order of each process of the stack over the lifecycle run (the bench's own process left out). */
const stackCpu = (life: LifecycleFigures) => Object.entries(life.cpuMsPerOrder).filter(([name]) => name !== 'bench');

/** The run's settings, then every section it measured, each after a blank line. */
export function renderReport(report: BenchReport): string {
  const { footprint } = report;
  const sections = [
    renderCreate(report.create),
    report.seed && renderSeed(report.seed),
    report.lifecycle && renderLifecycle(report.lifecycle, report),
    report.timers && renderTimers(report.timers),
    report.openLoop && renderOpenLoop(report.openLoop),
    report.backlogCheck?.length ? renderBacklogCheck(report.backlogCheck) : undefined,
    report.security && renderSecurity(report.security, report.lifecycle),
    renderFootprint(footprint),
    footprint.openOrders && renderOpenOrders(footprint.openOrders),
    report.recovery && renderRecovery(report.recovery),
  ];
  return [...renderMeta(report.meta), ...sections.flatMap((lines) => (lines ? ['', ...lines] : []))].join('\n');
}

function temporalDescription(server: 'dev' | 'real', nodes: number): string {
  if (server === 'dev') return 'dev server';
  return nodes > 1
    ? `cluster of ${nodes} production servers behind HAProxy, on PostgreSQL`
    : 'production server on PostgreSQL';
}

function renderMeta(meta: BenchReport['meta']): string[] {
  const env = Object.entries(meta.serviceEnv);
  return [
    `order-system bench (${meta.plan}) — commit ${meta.commit}, ${meta.target} stack, node ${meta.node}, ${meta.cpus} CPUs, ` +
      `load average ${meta.loadAverage.start.toFixed(1)} → ${meta.loadAverage.end.toFixed(1)}`,
    `service settings: ${env.length === 0 ? 'product defaults' : env.map(([k, v]) => `${k}=${v}`).join(' ')}` +
      `${meta.temporalCli ? `; TEMPORAL_CLI=${meta.temporalCli}` : ''}` +
      `${meta.temporalServer ? `; Temporal ${temporalDescription(meta.temporalServer, meta.temporalNodes ?? 1)}` : ''}` +
      `${meta.workers ? `; ${meta.workers} orders + ${meta.workers} payments worker(s)` : ''}` +
      `${meta.target === 'embedded' ? `; stack up in ${meta.startupSeconds.toFixed(0)} s` : ''}`,
    ...meta.notes.map((note) => `note: ${note}`),
  ];
}

function renderCreate(create: CreateFigures[]): string[] {
  return [
    'CREATE — POST /orders (201 once Temporal has persisted the start), closed loop per concurrency',
    columns(create, [
      ['conc', (c) => c.concurrency],
      ['orders', (c) => c.completed],
      ['orders/s', (c) => fmt(c.perSecond, 1)],
      ...percentiles<CreateFigures>((c) => c.latencyMs, ['p50', 'p95', 'p99'], 1),
      ['errors', (c) => failureText(c.failures)],
      ['insert/s', (c) => fmt(c.insertBaseline.perSecond, 0)],
      ['vs insert', (c) => times(c.perSecond, c.insertBaseline.perSecond)],
      ['wf start/s', (c) => fmt(c.workflowStartBaseline.perSecond, 0)],
      ['vs start', (c) => times(c.perSecond, c.workflowStartBaseline.perSecond)],
      ['drain s', (c) => secs(c.drainMs)],
    ]),
    'insert = the order + event insert of recordOrderCreated (its one statement) straight into the same Postgres (pool ≤ 32); wf start = starting an empty workflow on the same server',
  ];
}

function renderSeed(seed: SeedComparison): string[] {
  return [
    `CREATE BESIDE THE SEED (${seed.seedUrl}) — same client and bodies, rounds alternating, ${seed.pauseMs / 1000} s apart`,
    table(seedHeaders, seedRows(seed)),
  ];
}

function renderLifecycle(life: LifecycleFigures, { meta, footprint }: BenchReport): string[] {
  const open = life.backlog.map(backlogOf);
  const cpu = stackCpu(life);
  const total = sum(cpu.map(([, ms]) => ms));
  // The baseline's worker runs in the bench process: its CPU is the bench's row of that phase.
  const baselinePhase = life.baseline.workflows > 0 ? footprint.phases.find((p) => p.phase === 'baseline') : undefined;
  const baselineCpu = baselinePhase?.processes
    .filter((p) => p.name === 'temporal' || p.name === 'bench')
    .map(
      (p) =>
        [p.name === 'bench' ? 'its worker (bench)' : p.name, (p.cpuSeconds * 1000) / life.baseline.workflows] as const,
    );
  return [
    `LIFECYCLE — created → confirmed → delivered (delay ${secs(life.deliveryDelayMs, 0)} s, approval 1.0), ${life.orders} orders by POST /orders at c=${life.concurrency}, created in ${secs(life.loadMs)} s`,
    columns(
      [life],
      [
        ['orders', (l) => l.orders],
        ['created/s', (l) => fmt(l.createdPerSecond, 1)],
        ['delivered/s', (l) => fmt(l.sustainedDeliveredPerSecond, 1)],
        ['end-to-end/s', (l) => fmt(l.endToEndPerSecond, 1)],
        ['backlog avg', () => fmt(mean(open), 0)],
        ['backlog max', () => Math.max(0, ...open)],
        ['drain s', (l) => secs(l.drainMs)],
        ['errors', (l) => failureText(l.failures)],
        ['1-activity wf/s', (l) => fmt(l.baseline.perSecond, 1)],
        ['vs baseline', (l) => times(l.endToEndPerSecond, l.baseline.perSecond)],
      ],
    ),
    `backlog (orders accepted, not final; one mark per second until drained): ${sparkline(open)}`,
    ...(cpu.length > 0
      ? [
          `CPU per order (ms): ${cpu.map(([name, ms]) => `${name} ${fmt(ms)}`).join(', ')}; stack ${fmt(total)}` +
            ` → at most ~${fmt((meta.cpus * 1000) / total)} orders/s on ${meta.cpus} cores`,
        ]
      : []),
    ...(baselineCpu
      ? [
          `CPU per one-activity baseline workflow (ms): ${baselineCpu.map(([name, ms]) => `${name} ${fmt(ms)}`).join(', ')}; ` +
            `together ${fmt(sum(baselineCpu.map(([, ms]) => ms)))}`,
        ]
      : []),
    'delivered/s: first delivery → last; end-to-end/s: all orders over first create → last delivery − delay;',
    `baseline: ${life.baseline.workflows} workflows of one no-op activity each, started at the same concurrency, first start → last completion`,
  ];
}

function renderTimers(timers: NonNullable<BenchReport['timers']>): string[] {
  const b = timers.breakdown;
  return [
    `TIMER ACCURACY — delivery lateness = delivered at − confirmed at − delay, ${timers.delivered} orders of ${timers.source}`,
    columns(
      [
        ['lateness (all orders)', timers.latenessMs],
        [`  before timer (sample of ${b.sampled})`, b.beforeTimerMs],
        ['  server timer itself', b.timerMs],
        ['  after the timer fired', b.afterFireMs],
      ] as const,
      [
        ['', ([label]) => label],
        ...percentiles<readonly [string, Distribution]>(([, ms]) => ms, ['p50', 'p95', 'p99', 'max']),
      ],
    ),
    'before timer: recording `confirmed` and the workflow task that starts the timer; after: the workflow task that handles it',
  ];
}

function renderOpenLoop({ orders, baseline }: OpenLoopFigures): string[] {
  const rate = (r: OpenLoopResult) =>
    r.sustainedPerSecond === undefined ? 'none held within the budget' : `${r.sustainedPerSecond}/s`;
  const ratio =
    orders.sustainedPerSecond !== undefined && baseline.sustainedPerSecond !== undefined
      ? ` (${times(orders.sustainedPerSecond, baseline.sustainedPerSecond)} of the baseline)`
      : '';
  const steps = [
    ...orders.steps.map((step) => ({ subject: 'orders', step })),
    ...baseline.steps.map((step) => ({ subject: 'one-activity', step })),
  ];
  return [
    `OPEN LOOP — arrivals on a fixed schedule whatever the answers; held = all accepted, backlog not growing, lateness p99 ≤ 1 s, for ${secs(orders.holdWindowMs, 0)} s`,
    `sustained: orders ${rate(orders)}${ratio}; one-activity baseline ${rate(baseline)}` +
      ` (searched in ${secs(orders.elapsedMs, 0)} s and ${secs(baseline.elapsedMs, 0)} s)`,
    columns<{ subject: string; step: OpenLoopStepResult }>(steps, [
      ['subject', (r) => r.subject],
      ['step', (r) => r.step.kind],
      ['rate/s', ({ step }) => fmt(step.ratePerSecond, step.ratePerSecond < 10 ? 1 : 0)],
      ['window s', ({ step }) => secs(step.windowMs, 0)],
      ['accepted', ({ step }) => `${step.accepted}/${step.scheduled}`],
      ['backlog max', ({ step }) => Math.max(0, ...step.backlog.map((p) => p.open))],
      ['growth/s', ({ step }) => fmt(step.backlogGrowthPerSecond, 1)],
      ['late p50 ms', ({ step }) => fmt(step.latenessMs.p50)],
      ['late p99 ms', ({ step }) => fmt(step.latenessMs.p99)],
      ['answer p99 ms', ({ step }) => fmt(step.answerMs.p99)],
      ['send lag p99', ({ step }) => fmt(step.sendLagMs.p99)],
      ['drain s', ({ step }) => secs(step.drainMs)],
      ['verdict', ({ step }) => (step.held ? 'held' : step.reasons.join('; '))],
    ]),
    `lateness = final − scheduled arrival − designed delay (orders: delivered, delay ${secs(orders.designedDelayMs, 0)} s; baseline: completed, no delay);`,
    "backlog: sent, not final; its mean over the window's second half ≤ rate × (delay + 1 s) + 5, and its slope there (growth) ≤ 5% of the rate",
  ];
}

function renderBacklogCheck(rounds: readonly BacklogCheckRound[]): string[] {
  const name = (r: BacklogCheckRound) => `ORDERS_MAX_BACKLOG=${r.maxBacklog ?? 'default'}`;
  return [
    `BACKLOG CHECK — POST /orders closed loop, ${rounds[0].completed + rounds[0].failed} orders per round at the same concurrency, the API restarted per round, rounds alternating`,
    columns(rounds, [
      ['round', (_, i) => i + 1],
      ['setting', name],
      ['orders/s', (r) => fmt(r.perSecond, 0)],
      ...percentiles<BacklogCheckRound>((r) => r.latencyMs, ['p50', 'p99'], 1),
      ['errors', (r) => r.failed],
      ['API CPU ms/create', (r) => fmt(r.apiCpuMsPerCreate, 2)],
    ]),
    ...[...new Set(rounds.map(name))].map((variant) => {
      const mine = rounds.filter((r) => name(r) === variant);
      return `${variant}: mean ${fmt(mean(mine.map((r) => r.perSecond)), 0)} orders/s, p99 ${fmt(mean(mine.map((r) => r.latencyMs.p99)), 0)} ms, API ${fmt(mean(mine.map((r) => r.apiCpuMsPerCreate)), 2)} ms CPU per create`;
    }),
  ];
}

function renderSecurity(cost: SecurityCost, lifecycle: LifecycleFigures | undefined): string[] {
  const total = lifecycle ? sum(stackCpu(lifecycle).map(([, ms]) => ms)) : undefined;
  return [
    'SECURITY COST — token check and payload codec, CPU measured in-process with the product code',
    table(
      ['figure', 'value'],
      [
        ['token verification (every API request), µs', fmt(cost.tokenVerifyUs, 0)],
        [
          'payload encrypt / decrypt, µs each',
          `${fmt(cost.encodeUsPerPayload, 0)} / ${fmt(cost.decodeUsPerPayload, 0)}`,
        ],
        ["payloads in a delivered order's history", cost.payloadsPerOrder],
        ['added per order (1 token check, each payload once each way), ms', fmt(cost.msPerOrder, 2)],
        [
          'added to a create (a token check, the start input and memo encrypted), ms',
          fmt((cost.tokenVerifyUs + 2 * cost.encodeUsPerPayload) / 1000, 2),
        ],
        ['CPU per order across the stack, both on (lifecycle), ms', fmt(total, 0)],
        ['share of it', total ? `${((100 * cost.msPerOrder) / total).toFixed(1)} %` : '—'],
      ],
    ),
  ];
}

function renderFootprint({ idleRssBytes, phases }: BenchReport['footprint']): string[] {
  const names = [...new Set(phases.flatMap((p) => p.processes.map((q) => q.name)))];
  const of = (name: string) => phases.flatMap((p) => p.processes.filter((q) => q.name === name));
  return [
    "FOOTPRINT — per process: RSS (Postgres: postmaster + backends' private memory) and CPU (100% = one core)",
    columns(names, [
      ['process', (name) => name],
      ['idle MiB', (name) => mib(idleRssBytes[name])],
      ['peak MiB', (name) => mib(Math.max(0, ...of(name).map((q) => q.peakRssBytes)))],
      ...phases.map((p): Column<string> => [
        `CPU% ${p.phase}`,
        (name) => fmt(p.processes.find((q) => q.name === name)?.cpuPercent),
      ]),
    ]),
  ];
}

function renderOpenOrders(openOrders: OpenOrdersResult): string[] {
  const { waiting, requested, cacheSize, rssBefore, rssAfterFill, smallCache: small } = openOrders;
  const cache = cacheSize.configured ?? cacheSize.sdkDefault;
  const projected = waiting < requested;
  // The worker holds at most its cache's worth of orders; the server and the database hold every one.
  const holds = (name: string, orders: number) => (name === 'orders-worker' ? Math.min(orders, cache) : orders);
  // NaN where there is no figure: fmt prints it as a dash.
  const perOrder = (name: string) =>
    waiting === 0 ? Number.NaN : (rssAfterFill[name] - rssBefore[name]) / holds(name, waiting);
  return [
    `OPEN ORDERS — ${waiting} orders waiting on a long delivery timer at once` +
      (projected
        ? ` (${requested} asked; the fill stops after its time: ${fmt(openOrders.fillPerSecond, 1)} orders/s here)`
        : ''),
    `orders worker cache: ${cacheSize.configured === undefined ? `unset, SDK default ${cacheSize.sdkDefault} (from the heap limit)` : cacheSize.configured} workflows`,
    columns(Object.keys(rssAfterFill), [
      ['process', (name) => name],
      ['RSS before MiB', (name) => mib(rssBefore[name])],
      [`RSS, ${waiting} open MiB`, (name) => mib(rssAfterFill[name])],
      ['KiB per order held', (name) => fmt(perOrder(name) / 1024, 1)],
      [
        `${projected ? 'projected ' : ''}RSS, ${requested} open MiB`,
        (name) =>
          name === 'bench' ? undefined : mib(rssBefore[name] + Math.max(perOrder(name), 0) * holds(name, requested)),
      ],
    ]),
    ...(small
      ? [
          `orders worker restarted with WORKER_WORKFLOW_CACHE_SIZE=${small.cacheSize}, then ${small.replayed} open orders replayed into it (a status query each):`,
          columns(
            [small],
            [
              ['cache', (s) => s.cacheSize],
              ['RSS idle MiB', (s) => mib(s.idleRssBytes)],
              [`RSS after ${small.replayed} replays MiB`, (s) => mib(s.replayedRssBytes)],
              ['replays/s', (s) => fmt(s.replaysPerSecond, 0)],
            ],
          ),
        ]
      : []),
  ];
}

function renderRecovery(rec: RecoveryResult): string[] {
  const t = rec.taskTimeouts;
  return [
    `RECOVERY — orders worker SIGKILLed with ${rec.overdue} orders confirmed, restarted once every delivery was overdue`,
    columns(
      [rec],
      [
        ['overdue', (r) => r.overdue],
        ['delay s', (r) => `${r.deliveryDelaySeconds.min}–${r.deliveryDelaySeconds.max}`],
        ['worker down s', (r) => secs(r.downMs)],
        ['worker ready s', (r) => secs(r.workerReadyMs)],
        ['first delivery s', (r) => secs(r.firstDeliveryMs)],
        ['p50 delivery s', (r) => secs(r.deliveryAfterRestartMs.p50)],
        ['all delivered s', (r) => secs(r.allDeliveredMs)],
        ['still overdue', (r) => r.stillOverdue],
      ],
    ),
    'times after the restart began; ready = the worker logged "worker started"; delays chosen so that all fall due together',
    `workflow task timeouts in ${t.sampled} sampled histories: ${t.scheduleToStart} waited out the killed worker's sticky queue (schedule-to-start), ${t.startToClose} were lost with it (start-to-close)`,
  ];
}

/** bench/results/<YYYY-MM-DD>-<shortsha>.json; an existing file of the same day and commit gets a numbered sibling. */
export async function writeReport(report: BenchReport, resultsDir: string): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const day = report.meta.startedAt.slice(0, 10);
  const base = `${day}-${report.meta.commit}`;
  let path = join(resultsDir, `${base}.json`);
  for (let n = 2; existsSync(path); n++) path = join(resultsDir, `${base}-${n}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
