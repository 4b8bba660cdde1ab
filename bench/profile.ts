// `npm run bench -- --profile DIR`: where an order's CPU goes. The bench's own stack runs with every Node process
// under `node --cpu-prof` and the Temporal server serving Go's pprof; a warm-up, then the lifecycle load (orders
// created → delivered through the API); each process's CPU over that window from /proc (by thread), the Node threads'
// profiles cut to the window and the server's pprof taken in windows beside it, all said in ms per order. The raw
// profiles stay in DIR: open a .cpuprofile in Chrome DevTools (Performance) or speedscope for a flame graph, the
// server's with `go tool pprof -http=: DIR/temporal-*.pb.gz`.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findOnPath } from '../dev/tools/exec';
import { freePort } from '../dev/tools/net';
import type { TemporalKind } from '../dev/stack/stack';
import {
  difference,
  listCpuProfiles,
  perOrder,
  readGoProfiles,
  readNodeProfile,
  threadCpu,
  type Breakdown,
} from './cpu-profiles';
import { measureLifecycle, type LifecyclePlan } from './lifecycle';
import { LIFECYCLE_DELIVERY_DELAY_SECONDS } from './plan';
import { findStackGroups, readGroup, type ProcessGroup } from './procfs';
import type { Progress } from './progress';
import { table } from './report';
import { startEmbeddedTarget, type BenchTarget } from './target';

/** The profiled load: a warm-up for the JIT and the caches, then the lifecycle. */
export interface ProfilePlan {
  warmup: LifecyclePlan;
  lifecycle: LifecyclePlan;
}

export const profilePlans: Record<'quick' | 'default', ProfilePlan> = {
  quick: {
    warmup: { concurrency: 16, orders: 60, loadMs: 10_000, drainTimeoutMs: 30_000 },
    lifecycle: { concurrency: 16, orders: 240, loadMs: 20_000, drainTimeoutMs: 60_000 },
  },
  default: {
    warmup: { concurrency: 16, orders: 200, loadMs: 20_000, drainTimeoutMs: 60_000 },
    lifecycle: { concurrency: 16, orders: 1_000, loadMs: 60_000, drainTimeoutMs: 90_000 },
  },
};

/** Go's CPU profile is taken in windows this long, one after another, for as long as the load runs. */
const GO_WINDOW_SECONDS = 5;

export interface ProcessProfile {
  name: string;
  /** The process's CPU per order from /proc, the profiler's own thread left out. */
  cpuMsPerOrder: number;
  /** The profiler's own thread (V8's `v8:ProfEvntProc`): what profiling added, not part of the product's cost. */
  profilerMsPerOrder: number;
  /**
   * /proc's CPU per order of each thread name: Node's JS threads are `node` (the main one and the workflow thread),
   * the SDK's Rust core `tokio-runtime-w`; threads that ended during the window (a vm call's watchdog) are summed.
   */
  threads: Breakdown;
  /**
   * From the profiles, by package or part: the Node JS threads' own time (samples' shares scaled to those threads'
   * CPU: a sample's wall time also counts waits for a core), or the Go server's CPU by part and by package.
   */
  profiled?: { totalMsPerOrder: number; byCategory: Breakdown; byPackage?: Breakdown; threads?: string };
}

export interface ProfileReport {
  commit: string;
  temporalServer: TemporalKind;
  loadAverage: { start: number; end: number };
  orders: number;
  windowSeconds: number;
  dir: string;
  processes: ProcessProfile[];
  /** Transactions committed per order in each database of the stack's PostgreSQL (pg_stat_database). */
  commitsPerOrder: Record<string, number>;
  notes: string[];
}

/** Commits so far in each database of the stack's PostgreSQL (the orders' own and, with the production server, Temporal's). */
async function commitsByDatabase(target: BenchTarget): Promise<Map<string, number>> {
  const rows: { datname: string; xact_commit: string | number }[] = await target.db
    .select('datname', 'xact_commit')
    .from('pg_stat_database')
    .whereNotNull('datname');
  return new Map(rows.map((row) => [row.datname, Number(row.xact_commit)]));
}

interface Snapshot {
  groups: ProcessGroup[];
  /** CPU seconds by thread name, and the whole group's (its ended threads and reaped children included). */
  threads: Map<number, { byName: Map<string, number>; total: number }>;
}

/** Threads that ended between two snapshots: the group's CPU beyond what its live threads account for. */
const ENDED_THREADS = '(threads that ended)';
const PROFILER_THREAD = 'v8:ProfEvntProc';

async function snapshot(): Promise<Snapshot> {
  const groups = (await findStackGroups(process.pid)).filter((group) => group.name !== 'bench');
  const threads: Snapshot['threads'] = new Map();
  for (const group of groups) {
    // Postgres is a process per connection: its backends' CPU is summed, not split by thread.
    const members = group.name === 'postgres' ? group.members : [group.root];
    const byName = new Map<string, number>();
    for (const member of members) {
      for (const [name, seconds] of await threadCpu(member.pid)) byName.set(name, (byName.get(name) ?? 0) + seconds);
    }
    threads.set(group.root.pid, { byName, total: readGroup(group).cpuSeconds });
  }
  return { groups, threads };
}

/** Go's pprof, window after window, until `running()` says the load is over. */
async function collectGoProfiles(port: number, dir: string, running: () => boolean): Promise<string[]> {
  const files: string[] = [];
  while (running()) {
    const answer = await fetch(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=${GO_WINDOW_SECONDS}`);
    if (!answer.ok) throw new Error(`the Temporal server's pprof answered ${answer.status}`);
    const file = join(dir, `temporal-${files.length + 1}.pb.gz`);
    await writeFile(file, Buffer.from(await answer.arrayBuffer()));
    files.push(file);
  }
  return files;
}

export interface ProfileOptions {
  dir: string;
  plan: ProfilePlan;
  serviceEnv: Record<string, string>;
  temporalServer: TemporalKind;
  commit: string;
  loadAverage: () => number;
}

export async function profileStack(
  options: ProfileOptions,
  progress: Progress,
  onTarget: (target: BenchTarget) => void,
): Promise<ProfileReport> {
  const dir = resolve(options.dir);
  const nodeDir = join(dir, 'node');
  await mkdir(nodeDir, { recursive: true });
  const loadStart = options.loadAverage();
  const pprofPort = await freePort();
  progress.update('starting the stack with every process profiled');
  const target = await startEmbeddedTarget({
    deliveryDelaySeconds: LIFECYCLE_DELIVERY_DELAY_SECONDS,
    serviceEnv: options.serviceEnv,
    temporalServer: options.temporalServer,
    temporalNodes: 1,
    workers: 1,
    profile: { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${nodeDir}`], temporalPprofPort: pprofPort },
  });
  onTarget(target);
  const runId = `profile-${Date.now().toString(36)}`;
  await measureLifecycle(target, `${runId}-warmup`, options.plan.warmup, 1_000, progress);

  const commitsBefore = await commitsByDatabase(target);
  const before = await snapshot();
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  let loading = true;
  const goProfiles = collectGoProfiles(pprofPort, dir, () => loading);
  goProfiles.catch(() => undefined); // awaited below
  let life;
  try {
    life = await measureLifecycle(target, runId, options.plan.lifecycle, 1_000, progress);
  } finally {
    loading = false;
  }
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const after = await snapshot();
  const commitsAfter = await commitsByDatabase(target);
  const goFiles = await goProfiles;
  const orders = life.load.completed;
  const notes: string[] = [];
  if (life.drainMs === undefined) notes.push('the lifecycle did not drain in time: CPU per order is understated');

  progress.update('stopping the stack (the Node processes write their profiles as they exit)');
  await target.stop();

  const nodeFiles = await listCpuProfiles(nodeDir);
  const go = await findOnPath('go');
  const processes: ProcessProfile[] = [];
  for (const group of after.groups) {
    const empty = { byName: new Map<string, number>(), total: 0 };
    const [end, start] = [after.threads.get(group.root.pid) ?? empty, before.threads.get(group.root.pid) ?? empty];
    const threadMs = new Map([...difference(end.byName, start.byName)].map(([name, s]) => [name, s * 1000]));
    const liveMs = [...threadMs.values()].reduce((sum, ms) => sum + ms, 0);
    const groupMs = (end.total - start.total) * 1000;
    if (groupMs > liveMs) threadMs.set(ENDED_THREADS, groupMs - liveMs);
    const profilerMs = threadMs.get(PROFILER_THREAD) ?? 0;
    threadMs.delete(PROFILER_THREAD);
    const entry: ProcessProfile = {
      name: group.name,
      cpuMsPerOrder: (Math.max(groupMs, liveMs) - profilerMs) / orders,
      profilerMsPerOrder: profilerMs / orders,
      threads: perOrder(threadMs, orders, 6),
    };
    const files = nodeFiles.filter((file) => file.pid === group.root.pid);
    if (files.length > 0) {
      const byCategory = new Map<string, number>();
      const busy: string[] = [];
      let busyMs = 0;
      for (const file of files) {
        const thread = await readNodeProfile(file, { fromUs, toUs });
        busyMs += thread.busyMs;
        busy.push(`${file.thread === 0 ? 'main' : `thread ${file.thread}`} ${(thread.busyMs / orders) | 0 || '<1'}`);
        for (const [category, ms] of thread.byCategory) byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
      }
      // The samples' shares, scaled to the CPU the JS threads really had.
      const jsMs = threadMs.get('node') ?? busyMs;
      const scaled = new Map([...byCategory].map(([category, ms]) => [category, (ms / busyMs) * jsMs]));
      entry.profiled = {
        totalMsPerOrder: jsMs / orders,
        byCategory: perOrder(scaled, orders, 16),
        threads: `samples' wall ms/order by thread: ${busy.join(', ')}`,
      };
    } else if (group.name === 'temporal' && goFiles.length > 0) {
      if (go) {
        const server = await readGoProfiles(go, goFiles);
        entry.profiled = {
          totalMsPerOrder: server.totalMs / orders,
          byCategory: perOrder(server.byPart, orders, 14),
          byPackage: perOrder(server.byPackage, orders, 12),
        };
      } else {
        notes.push(`no go on PATH to read the server's profiles: go tool pprof -top ${goFiles.join(' ')}`);
      }
    }
    processes.push(entry);
  }
  const report: ProfileReport = {
    commit: options.commit,
    temporalServer: options.temporalServer,
    loadAverage: { start: loadStart, end: options.loadAverage() },
    orders,
    windowSeconds: (toUs - fromUs) / 1e6,
    dir,
    processes: processes.sort((a, b) => b.cpuMsPerOrder - a.cpuMsPerOrder),
    commitsPerOrder: Object.fromEntries(
      [...commitsAfter]
        .map(([name, n]) => [name, (n - (commitsBefore.get(name) ?? 0)) / orders] as const)
        .filter(([, perOrder]) => perOrder >= 0.05),
    ),
    notes,
  };
  await writeFile(join(dir, 'profile.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);

export function renderProfile(report: ProfileReport): string {
  const total = report.processes.reduce((sum, p) => sum + p.cpuMsPerOrder, 0);
  const lines = [
    `CPU per order, profiled: ${report.orders} orders in ${report.windowSeconds.toFixed(1)} s on ${report.temporalServer === 'real' ? 'the production server' : 'the dev server'} (commit ${report.commit}, load ${report.loadAverage.start.toFixed(1)} → ${report.loadAverage.end.toFixed(1)})`,
    '',
    table(
      ['process', 'CPU ms/order', 'by thread (ms/order)', 'profiler'],
      [
        ...report.processes.map((p) => [
          p.name,
          ms(p.cpuMsPerOrder),
          p.threads
            .filter((t) => t.msPerOrder >= 0.05)
            .map((t) => `${t.category} ${ms(t.msPerOrder)}`)
            .join(', '),
          p.profilerMsPerOrder > 0 ? ms(p.profilerMsPerOrder) : '',
        ]),
        ['all', ms(total), '', ms(report.processes.reduce((sum, p) => sum + p.profilerMsPerOrder, 0))],
      ],
    ),
    "profiler: the profiler's own thread, left out of CPU ms/order (what --profile adds, not what an order costs)",
  ];
  for (const p of report.processes) {
    if (!p.profiled) continue;
    lines.push(
      '',
      p.profiled.threads
        ? `${p.name}: its JS threads' ${ms(p.profiled.totalMsPerOrder)} ms/order by own time (${p.profiled.threads})`
        : `${p.name}: ${ms(p.profiled.totalMsPerOrder)} ms/order in the profile (${ms(p.cpuMsPerOrder)} by /proc)`,
      table(
        ['where', 'ms/order'],
        p.profiled.byCategory.map((row) => [row.category, ms(row.msPerOrder)]),
      ),
    );
    if (p.profiled.byPackage) {
      lines.push(
        table(
          ['own time by Go package', 'ms/order'],
          p.profiled.byPackage.map((row) => [row.category, ms(row.msPerOrder)]),
        ),
      );
    }
  }
  const commits = Object.entries(report.commitsPerOrder).map(([name, n]) => `${name} ${n.toFixed(1)}`);
  lines.push(
    '',
    `PostgreSQL commits per order: ${commits.join(', ') || 'none'} (the bench's own polling included)`,
    `profiles: ${report.dir}`,
    ...report.notes.map((note) => `note: ${note}`),
  );
  return lines.join('\n');
}
