// Reads the CPU profiles a `--profile` run leaves: V8's `.cpuprofile` of each Node thread (node --cpu-prof), Go's
// pprof of the Temporal server, and /proc's CPU of every thread. Each is cut to the measured window and said in
// milliseconds per order, by where the time went (a package, a part of the server, a thread).
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Milliseconds per order, by category, largest first. */
export type Breakdown = { category: string; msPerOrder: number }[];

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A `.cpuprofile` as node --cpu-prof names it: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile (thread 0: main). */
export interface ProfileFile {
  path: string;
  pid: number;
  thread: number;
}

export async function listCpuProfiles(dir: string): Promise<ProfileFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const match = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(name);
    return match ? [{ path: join(dir, name), pid: Number(match[1]), thread: Number(match[2]) }] : [];
  });
}

/** Which webpack module each line of a workflow bundle belongs to (its `/***\/ "./path":` headers), in order. */
export function bundleModules(code: string): { line: number; module: string }[] {
  const starts: { line: number; module: string }[] = [];
  code.split('\n').forEach((text, line) => {
    const match = /^\/\*\*\*\/ "([^"]+)"/.exec(text);
    if (match) starts.push({ line, module: match[1] });
  });
  return starts;
}

function moduleAt(modules: readonly { line: number; module: string }[], line: number): string | undefined {
  let found: string | undefined;
  for (const start of modules) {
    if (start.line > line) break;
    found = start.module;
  }
  return found;
}

/** A package name from a path inside node_modules (`@temporalio/worker`, `pg`), else undefined. */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [first, second] = path.slice(at + 'node_modules/'.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

type BundleModules = Map<string, { line: number; module: string }[]>;

/** A workflow bundle as the SDK loads it (its file's path is the script's url): a built one, e.g. the stack's. */
const isWorkflowBundle = (url: string) => /workflow-bundle[^/]*\.js$/.test(url);

/** Where a sample's own time went: a package, Node's internals, this project's code, the workflow bundle, V8. */
export function frameCategory(frame: CallFrame, bundles: BundleModules = new Map()): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'V8: garbage collector';
  if (functionName === '(program)') return 'V8: (program), native code outside JS';
  if (url === '') return `V8 built-in: ${functionName || '(anonymous)'}`;
  const modules = bundles.get(url);
  if (modules) {
    const module = moduleAt(modules, frame.lineNumber) ?? '(bundle runtime)';
    const inPackage = packageOf(module);
    return `workflow sandbox: ${inPackage ?? module.replace(/^\.\//, '')}`;
  }
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return `node: ${parts[0] === 'internal' ? (parts[1] ?? 'internal').replace(/\.js$/, '') : parts[0]}`;
  }
  const inPackage = packageOf(url);
  if (inPackage) return inPackage;
  const src = /\/(src|dev|bench)\/(.+)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

export interface NodeThreadProfile {
  thread: number;
  /** On-CPU milliseconds inside the window (idle samples left out). */
  busyMs: number;
  byCategory: Map<string, number>;
}

/** One thread's profile cut to [fromUs, toUs] of the monotonic clock (process.hrtime and V8's clock agree on Linux). */
export async function readNodeProfile(
  file: ProfileFile,
  window: { fromUs: number; toUs: number },
): Promise<NodeThreadProfile> {
  const profile = JSON.parse(await readFile(file.path, 'utf8')) as CpuProfile;
  const bundles: BundleModules = new Map();
  for (const url of new Set(profile.nodes.map((node) => node.callFrame.url).filter(isWorkflowBundle))) {
    const code = await readFile(url.replace(/^file:\/\//, ''), 'utf8').catch(() => undefined);
    if (code !== undefined) bundles.set(url, bundleModules(code));
  }
  const categoryOf = new Map<number, string>();
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== '(idle)') categoryOf.set(node.id, frameCategory(node.callFrame, bundles));
  }
  const byCategory = new Map<string, number>();
  let at = profile.startTime;
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (at < window.fromUs || at > window.toUs) continue;
    const category = categoryOf.get(profile.samples[i]);
    if (category === undefined) continue;
    byCategory.set(category, (byCategory.get(category) ?? 0) + span / 1000);
    busyUs += span;
  }
  return { thread: file.thread, busyMs: busyUs / 1000, byCategory };
}

export function perOrder(totals: Map<string, number>, orders: number, top: number): Breakdown {
  const rows = [...totals]
    .map(([category, ms]) => ({ category, msPerOrder: ms / orders }))
    .sort((a, b) => b.msPerOrder - a.msPerOrder);
  if (rows.length <= top) return rows;
  const rest = rows.slice(top).reduce((sum, row) => sum + row.msPerOrder, 0);
  return [...rows.slice(0, top), { category: `${rows.length - top} more`, msPerOrder: rest }];
}

/** The parts of the Temporal server a sample is counted to: the first whose pattern a frame of its stack matches. */
const serverParts: { part: string; pattern: RegExp }[] = [
  { part: 'SQLite engine (modernc.org/sqlite, pure Go)', pattern: /^modernc\.org\// },
  { part: 'PostgreSQL driver (pgx / lib/pq)', pattern: /jackc\/pgx|lib\/pq/ },
  { part: 'GC and allocation', pattern: /^runtime\.(gcBgMarkWorker|gcDrain|mallocgc|gcAssist|bgsweep|bgscavenge)/ },
  { part: 'visibility (search attributes, list)', pattern: /server\/common\/persistence\/visibility/ },
  { part: 'persistence (serialization, SQL layer)', pattern: /server\/common\/persistence/ },
  { part: 'history service', pattern: /server\/service\/history/ },
  { part: 'matching service', pattern: /server\/service\/matching/ },
  { part: 'frontend service', pattern: /server\/service\/frontend/ },
  { part: 'worker service (system workflows)', pattern: /server\/service\/worker/ },
  { part: 'gRPC and HTTP/2 transport', pattern: /google\.golang\.org\/grpc|golang\.org\/x\/net\/http2/ },
  { part: 'protobuf', pattern: /google\.golang\.org\/protobuf|gogo\/protobuf/ },
  { part: 'Go runtime: scheduler, syscalls, timers', pattern: /^(runtime|syscall|internal\/poll)\./ },
];

function parseDuration(text: string): number {
  const match = /^([\d.]+)(ns|us|µs|ms|s|mins|hrs)$/.exec(text);
  if (!match) return 0;
  const scale: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, mins: 6e4, hrs: 3.6e6 };
  return Number(match[1]) * scale[match[2]];
}

export interface GoProfile {
  totalMs: number;
  byPart: Map<string, number>;
  /** Own time by the leaf function's package. */
  byPackage: Map<string, number>;
}

function goPackage(fn: string): string {
  // go.temporal.io/server/service/history.(*historyEngineImpl).X → go.temporal.io/server/service/history
  const lastSlash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', lastSlash + 1);
  return dot < 0 ? fn : fn.slice(0, dot);
}

/** Go's CPU profiles (several windows are merged), read with `go tool pprof -traces`. */
export async function readGoProfiles(go: string, files: string[]): Promise<GoProfile> {
  const { stdout } = await promisify(execFile)(go, ['tool', 'pprof', '-traces', ...files], {
    maxBuffer: 512 * 1024 * 1024,
  });
  const byPart = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let totalMs = 0;
  for (const block of stdout.split(/^-+\+-+$/m).slice(1)) {
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const first = /^\s*(\S+)\s+(.+)$/.exec(lines[0] ?? '');
    if (!first) continue;
    const ms = parseDuration(first[1]);
    const frames = [first[2].trim(), ...lines.slice(1).map((line) => line.trim())];
    totalMs += ms;
    const part = serverParts.find(({ pattern }) => frames.some((f) => pattern.test(f)))?.part ?? 'other';
    byPart.set(part, (byPart.get(part) ?? 0) + ms);
    const own = goPackage(frames[0]);
    byPackage.set(own, (byPackage.get(own) ?? 0) + ms);
  }
  return { totalMs, byPart, byPackage };
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of each thread of a process, summed by the thread's name (comm): `node`, `tokio-runtime-w`, … */
export async function threadCpu(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const task of tasks) {
    const stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close).replace(/\d+$/, '#');
    const fields = stat.slice(close + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    byName.set(name, (byName.get(name) ?? 0) + seconds);
  }
  return byName;
}

export function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([name, value]) => [name, Math.max(0, value - (before.get(name) ?? 0))]));
}
