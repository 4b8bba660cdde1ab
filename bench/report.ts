// The bench's figures: one object (written as JSON under bench/results/) and the aligned tables printed on stdout.
import type { SecurityCost } from './security-cost';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BacklogCheckRound } from './backlog-check';
import type { OneActivityResult } from './baselines';
import type { OpenOrdersResult } from './footprint';
import { backlogOf, type BacklogPoint } from './lifecycle';
import type { OpenLoopResult, OpenLoopStepResult } from './open-loop';
import type { RecoveryResult } from './recovery';
import { seedHeaders, seedRows, type SeedComparison } from './seed';
import type { PhaseFootprint } from './sampler';
import { MiB, round, type Distribution } from './stats';
import type { TimerAccuracy } from './timers';

export interface Throughput {
  completed: number;
  failed: number;
  failures: Record<string, number>;
  perSecond: number;
  latencyMs: Distribution;
}

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
    /** The bench's own stack: which Temporal server (`dev` or `real`), and orders/payments workers of each kind. */
    temporalServer?: 'dev' | 'real';
    /** Production Temporal nodes behind HAProxy (absent in runs from before the option: one). */
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
  timers?: TimerAccuracy & { source?: string };
  footprint: {
    /** RSS of each process once the stack was up, before any load. */
    idleRssBytes: Record<string, number>;
    phases: readonly PhaseFootprint[];
    openOrders?: OpenOrdersResult;
  };
  recovery?: RecoveryResult;
}

type Cell = string | number | undefined;

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || Number.isNaN(value) ? '—' : round(value, digits).toFixed(digits);
const mib = (bytes: number | undefined) => fmt(bytes === undefined ? undefined : bytes / MiB, 0);
const secs = (ms: number | undefined, digits = 1) => fmt(ms === undefined ? undefined : ms / 1000, digits);
const times = (a: number, b: number | undefined) =>
  b === undefined || !(b > 0) || Number.isNaN(a) ? '—' : `${(a / b).toFixed(2)}×`;

/** Columns right-aligned except the first; a rule under the header. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => (cell === undefined ? '—' : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
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

function temporalDescription(server: 'dev' | 'real', nodes: number): string {
  if (server === 'dev') return 'dev server';
  return nodes > 1
    ? `cluster of ${nodes} production servers behind HAProxy, on PostgreSQL`
    : 'production server on PostgreSQL';
}

export function renderReport(report: BenchReport): string {
  const out: string[] = [];
  const { meta } = report;
  out.push(
    `order-system bench (${meta.plan}) — commit ${meta.commit}, ${meta.target} stack, node ${meta.node}, ${meta.cpus} CPUs, ` +
      `load average ${meta.loadAverage.start.toFixed(1)} → ${meta.loadAverage.end.toFixed(1)}`,
  );
  const env = Object.entries(meta.serviceEnv);
  out.push(
    `service settings: ${env.length === 0 ? 'product defaults' : env.map(([k, v]) => `${k}=${v}`).join(' ')}` +
      `${meta.temporalCli ? `; TEMPORAL_CLI=${meta.temporalCli}` : ''}` +
      `${meta.temporalServer ? `; Temporal ${temporalDescription(meta.temporalServer, meta.temporalNodes ?? 1)}` : ''}` +
      `${meta.workers ? `; ${meta.workers} orders + ${meta.workers} payments worker(s)` : ''}` +
      `${meta.target === 'embedded' ? `; stack up in ${meta.startupSeconds.toFixed(0)} s` : ''}`,
  );
  for (const note of meta.notes) out.push(`note: ${note}`);

  out.push('', 'CREATE — POST /orders (201 once Temporal has persisted the start), closed loop per concurrency');
  out.push(
    table(
      [
        'conc',
        'orders',
        'orders/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'errors',
        'insert/s',
        'vs insert',
        'wf start/s',
        'vs start',
        'drain s',
      ],
      report.create.map((c) => [
        c.concurrency,
        c.completed,
        fmt(c.perSecond, 1),
        fmt(c.latencyMs.p50, 1),
        fmt(c.latencyMs.p95, 1),
        fmt(c.latencyMs.p99, 1),
        failureText(c.failures),
        fmt(c.insertBaseline.perSecond, 0),
        times(c.perSecond, c.insertBaseline.perSecond),
        fmt(c.workflowStartBaseline.perSecond, 0),
        times(c.perSecond, c.workflowStartBaseline.perSecond),
        secs(c.drainMs),
      ]),
    ),
  );
  out.push(
    'insert = the order + event insert of recordOrderCreated (its one statement) straight into the same Postgres (pool ≤ 32); wf start = starting an empty workflow on the same server',
  );

  if (report.seed) {
    const { seedUrl, pauseMs } = report.seed;
    out.push(
      '',
      `CREATE BESIDE THE SEED (${seedUrl}) — same client and bodies, rounds alternating, ${pauseMs / 1000} s apart`,
    );
    out.push(table(seedHeaders, seedRows(report.seed)));
  }

  const life = report.lifecycle;
  if (life) {
    out.push(
      '',
      `LIFECYCLE — created → confirmed → delivered (delay ${secs(life.deliveryDelayMs, 0)} s, approval 1.0), ${life.orders} orders by POST /orders at c=${life.concurrency}, created in ${secs(life.loadMs)} s`,
    );
    const open = life.backlog.map(backlogOf);
    const avg = open.length > 0 ? open.reduce((a, b) => a + b, 0) / open.length : Number.NaN;
    out.push(
      table(
        [
          'orders',
          'created/s',
          'delivered/s',
          'end-to-end/s',
          'backlog avg',
          'backlog max',
          'drain s',
          'errors',
          '1-activity wf/s',
          'vs baseline',
        ],
        [
          [
            life.orders,
            fmt(life.createdPerSecond, 1),
            fmt(life.sustainedDeliveredPerSecond, 1),
            fmt(life.endToEndPerSecond, 1),
            fmt(avg, 0),
            Math.max(0, ...open),
            secs(life.drainMs),
            failureText(life.failures),
            fmt(life.baseline.perSecond, 1),
            times(life.endToEndPerSecond, life.baseline.perSecond),
          ],
        ],
      ),
    );
    out.push(`backlog (orders accepted, not final; one mark per second until drained): ${sparkline(open)}`);
    const cpu = Object.entries(life.cpuMsPerOrder).filter(([name]) => name !== 'bench');
    const total = cpu.reduce((sum, [, ms]) => sum + ms, 0);
    if (cpu.length > 0) {
      out.push(
        `CPU per order (ms): ${cpu.map(([name, ms]) => `${name} ${fmt(ms)}`).join(', ')}; stack ${fmt(total)}` +
          ` → at most ~${fmt((meta.cpus * 1000) / total)} orders/s on ${meta.cpus} cores`,
      );
    }
    // The baseline's worker runs in the bench process: its CPU is the bench's row of that phase.
    const baselinePhase = report.footprint.phases.find((p) => p.phase === 'baseline');
    if (baselinePhase && life.baseline.workflows > 0) {
      const per = baselinePhase.processes
        .filter((p) => p.name === 'temporal' || p.name === 'bench')
        .map((p) => [p.name, (p.cpuSeconds * 1000) / life.baseline.workflows] as const);
      out.push(
        `CPU per one-activity baseline workflow (ms): ${per.map(([name, ms]) => `${name === 'bench' ? 'its worker (bench)' : name} ${fmt(ms)}`).join(', ')}; ` +
          `together ${fmt(per.reduce((sum, [, ms]) => sum + ms, 0))}`,
      );
    }
    out.push(
      'delivered/s: first delivery → last; end-to-end/s: all orders over first create → last delivery − delay;',
      `baseline: ${life.baseline.workflows} workflows of one no-op activity each, started at the same concurrency, first start → last completion`,
    );
  }

  const timers = report.timers;
  if (timers) {
    const b = timers.breakdown;
    out.push(
      '',
      `TIMER ACCURACY — delivery lateness = delivered at − confirmed at − delay, ${timers.delivered} orders of ${timers.source ?? 'the lifecycle run'}`,
    );
    out.push(
      table(
        ['', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
        [
          [
            'lateness (all orders)',
            ...[timers.latenessMs.p50, timers.latenessMs.p95, timers.latenessMs.p99, timers.latenessMs.max].map((v) =>
              fmt(v),
            ),
          ],
          [
            `  before timer (sample of ${b.sampled})`,
            ...[b.beforeTimerMs.p50, b.beforeTimerMs.p95, b.beforeTimerMs.p99, b.beforeTimerMs.max].map((v) => fmt(v)),
          ],
          ['  server timer itself', ...[b.timerMs.p50, b.timerMs.p95, b.timerMs.p99, b.timerMs.max].map((v) => fmt(v))],
          [
            '  after the timer fired',
            ...[b.afterFireMs.p50, b.afterFireMs.p95, b.afterFireMs.p99, b.afterFireMs.max].map((v) => fmt(v)),
          ],
        ],
      ),
    );
    out.push(
      'before timer: recording `confirmed` and the workflow task that starts the timer; after: the workflow task that handles it',
    );
  }

  const openLoop = report.openLoop;
  if (openLoop) out.push('', ...renderOpenLoop(openLoop));
  const backlogCheck = report.backlogCheck;
  if (backlogCheck && backlogCheck.length > 0) out.push('', ...renderBacklogCheck(backlogCheck));
  if (report.security) out.push('', ...renderSecurity(report.security, report.lifecycle));

  const { footprint } = report;
  const phaseNames = footprint.phases.map((p) => p.phase);
  const processNames = [...new Set(footprint.phases.flatMap((p) => p.processes.map((q) => q.name)))];
  out.push(
    '',
    "FOOTPRINT — per process: RSS (Postgres: postmaster + backends' private memory) and CPU (100% = one core)",
  );
  out.push(
    table(
      ['process', 'idle MiB', 'peak MiB', ...phaseNames.map((p) => `CPU% ${p}`)],
      processNames.map((name) => [
        name,
        mib(footprint.idleRssBytes[name]),
        mib(
          Math.max(
            0,
            ...footprint.phases.flatMap((p) => p.processes.filter((q) => q.name === name).map((q) => q.peakRssBytes)),
          ),
        ),
        ...footprint.phases.map((p) => fmt(p.processes.find((q) => q.name === name)?.cpuPercent)),
      ]),
    ),
  );
  const openOrders = footprint.openOrders;
  if (openOrders) {
    const { waiting, requested, cacheSize } = openOrders;
    const cache = cacheSize.configured ?? cacheSize.sdkDefault;
    const projected = waiting < requested;
    out.push(
      '',
      `OPEN ORDERS — ${waiting} orders waiting on a long delivery timer at once` +
        (projected
          ? ` (${requested} asked; the fill stops after its time: ${fmt(openOrders.fillPerSecond, 1)} orders/s here)`
          : ''),
    );
    out.push(
      `orders worker cache: ${cacheSize.configured === undefined ? `unset, SDK default ${cacheSize.sdkDefault} (from the heap limit)` : cacheSize.configured} workflows`,
    );
    out.push(
      table(
        [
          'process',
          'RSS before MiB',
          `RSS, ${waiting} open MiB`,
          'KiB per order held',
          `${projected ? 'projected ' : ''}RSS, ${requested} open MiB`,
        ],
        Object.keys(openOrders.rssAfterFill).map((name) => {
          const before = openOrders.rssBefore[name];
          const after = openOrders.rssAfterFill[name];
          // The worker holds at most its cache's worth of orders; the server and the database hold every one.
          const holds = (orders: number) => (name === 'orders-worker' ? Math.min(orders, cache) : orders);
          const perOrder = before === undefined || waiting === 0 ? undefined : (after - before) / holds(waiting);
          const atRequested =
            perOrder === undefined || name === 'bench' ? undefined : before + Math.max(perOrder, 0) * holds(requested);
          return [
            name,
            mib(before),
            mib(after),
            fmt(perOrder === undefined ? undefined : perOrder / 1024, 1),
            mib(atRequested),
          ];
        }),
      ),
    );
    const small = openOrders.smallCache;
    if (small) {
      out.push(
        `orders worker restarted with WORKER_WORKFLOW_CACHE_SIZE=${small.cacheSize}, then ${small.replayed} open orders replayed into it (a status query each):`,
      );
      out.push(
        table(
          ['cache', 'RSS idle MiB', `RSS after ${small.replayed} replays MiB`, 'replays/s'],
          [[small.cacheSize, mib(small.idleRssBytes), mib(small.replayedRssBytes), fmt(small.replaysPerSecond, 0)]],
        ),
      );
    }
  }

  const rec = report.recovery;
  if (rec) {
    out.push(
      '',
      `RECOVERY — orders worker SIGKILLed with ${rec.overdue} orders confirmed, restarted once every delivery was overdue`,
    );
    out.push(
      table(
        [
          'overdue',
          'delay s',
          'worker down s',
          'worker ready s',
          'first delivery s',
          'p50 delivery s',
          'all delivered s',
          'still overdue',
        ],
        [
          [
            rec.overdue,
            `${rec.deliveryDelaySeconds.min}–${rec.deliveryDelaySeconds.max}`,
            secs(rec.downMs),
            secs(rec.workerReadyMs),
            secs(rec.firstDeliveryMs),
            secs(rec.deliveryAfterRestartMs.p50),
            secs(rec.allDeliveredMs),
            rec.stillOverdue,
          ],
        ],
      ),
    );
    const t = rec.taskTimeouts;
    out.push(
      'times after the restart began; ready = the worker logged "worker started"; delays chosen so that all fall due together',
      `workflow task timeouts in ${t.sampled} sampled histories: ${t.scheduleToStart} waited out the killed worker's sticky queue (schedule-to-start), ${t.startToClose} were lost with it (start-to-close)`,
    );
  }
  return out.join('\n');
}

function stepRow(subject: string, step: OpenLoopStepResult): Cell[] {
  return [
    subject,
    step.kind,
    fmt(step.ratePerSecond, step.ratePerSecond < 10 ? 1 : 0),
    secs(step.windowMs, 0),
    `${step.accepted}/${step.scheduled}`,
    Math.max(0, ...step.backlog.map((p) => p.open)),
    fmt(step.backlogGrowthPerSecond, 1),
    fmt(step.latenessMs.p50),
    fmt(step.latenessMs.p99),
    fmt(step.answerMs.p99),
    fmt(step.sendLagMs.p99),
    secs(step.drainMs),
    step.held ? 'held' : step.reasons.join('; '),
  ];
}

function renderOpenLoop({ orders, baseline }: OpenLoopFigures): string[] {
  const rate = (r: OpenLoopResult) =>
    r.sustainedPerSecond === undefined ? 'none held within the budget' : `${r.sustainedPerSecond}/s`;
  const ratio =
    orders.sustainedPerSecond !== undefined && baseline.sustainedPerSecond !== undefined
      ? ` (${times(orders.sustainedPerSecond, baseline.sustainedPerSecond)} of the baseline)`
      : '';
  return [
    `OPEN LOOP — arrivals on a fixed schedule whatever the answers; held = all accepted, backlog not growing, lateness p99 ≤ 1 s, for ${secs(orders.holdWindowMs, 0)} s`,
    `sustained: orders ${rate(orders)}${ratio}; one-activity baseline ${rate(baseline)}` +
      ` (searched in ${secs(orders.elapsedMs, 0)} s and ${secs(baseline.elapsedMs, 0)} s)`,
    table(
      [
        'subject',
        'step',
        'rate/s',
        'window s',
        'accepted',
        'backlog max',
        'growth/s',
        'late p50 ms',
        'late p99 ms',
        'answer p99 ms',
        'send lag p99',
        'drain s',
        'verdict',
      ],
      [...orders.steps.map((s) => stepRow('orders', s)), ...baseline.steps.map((s) => stepRow('one-activity', s))],
    ),
    `lateness = final − scheduled arrival − designed delay (orders: delivered, delay ${secs(orders.designedDelayMs, 0)} s; baseline: completed, no delay);`,
    "backlog: sent, not final; its mean over the window's second half ≤ rate × (delay + 1 s) + 5, and its slope there (growth) ≤ 5% of the rate",
  ];
}

function renderSecurity(cost: SecurityCost, lifecycle: LifecycleFigures | undefined): string[] {
  const total = lifecycle
    ? Object.entries(lifecycle.cpuMsPerOrder)
        .filter(([name]) => name !== 'bench')
        .reduce((sum, [, ms]) => sum + ms, 0)
    : undefined;
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

function renderBacklogCheck(rounds: readonly BacklogCheckRound[]): string[] {
  const name = (r: BacklogCheckRound) => `ORDERS_MAX_BACKLOG=${r.maxBacklog ?? 'default'}`;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const variants = [...new Set(rounds.map(name))];
  return [
    `BACKLOG CHECK — POST /orders closed loop, ${rounds[0].completed + rounds[0].failed} orders per round at the same concurrency, the API restarted per round, rounds alternating`,
    table(
      ['round', 'setting', 'orders/s', 'p50 ms', 'p99 ms', 'errors', 'API CPU ms/create'],
      rounds.map((r, i) => [
        i + 1,
        name(r),
        fmt(r.perSecond, 0),
        fmt(r.latencyMs.p50, 1),
        fmt(r.latencyMs.p99, 1),
        r.failed,
        fmt(r.apiCpuMsPerCreate, 2),
      ]),
    ),
    ...variants.map((variant) => {
      const mine = rounds.filter((r) => name(r) === variant);
      return `${variant}: mean ${fmt(mean(mine.map((r) => r.perSecond)), 0)} orders/s, p99 ${fmt(mean(mine.map((r) => r.latencyMs.p99)), 0)} ms, API ${fmt(mean(mine.map((r) => r.apiCpuMsPerCreate)), 2)} ms CPU per create`;
    }),
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
