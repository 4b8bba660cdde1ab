// Memory and CPU of the stack's processes, read from /proc: each service is found by its command line, so a restarted
// worker (a new pid) is still the same row of the report.
import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  /** utime + stime of the process itself, in seconds. */
  cpuSeconds: number;
  /** cutime + cstime: children it has reaped (Postgres backends that ended), in seconds. */
  reapedChildrenCpuSeconds: number;
  rssBytes: number;
  /** Private anonymous memory: what a Postgres backend adds beyond the shared buffers it maps. */
  rssAnonBytes: number;
}

async function readProc(pid: number): Promise<ProcInfo | undefined> {
  try {
    const [stat, status, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    // comm may hold spaces and parentheses: the fields after it start after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state) of proc(5): ppid is field 4, utime..cstime fields 14..17.
    const tick = (field: number) => Number(fields[field - 3]) / TICKS_PER_SECOND;
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return {
      pid,
      ppid: Number(fields[1]),
      comm,
      cmdline: cmdline.replaceAll('\0', ' ').trim(),
      cpuSeconds: tick(14) + tick(15),
      reapedChildrenCpuSeconds: tick(16) + tick(17),
      rssBytes: kib('VmRSS'),
      rssAnonBytes: kib('RssAnon'),
    };
  } catch {
    return undefined; // gone between the directory listing and the read
  }
}

export async function listProcesses(): Promise<ProcInfo[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const infos = await Promise.all(pids.map(readProc));
  return infos.filter((info): info is ProcInfo => info !== undefined);
}

export function descendantsOf(rootPid: number, processes: readonly ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: ProcInfo[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child.pid);
    }
  };
  visit(rootPid);
  return found;
}

/** One row of the footprint: a process, or a server made of several (Postgres: the postmaster and its backends). */
export interface ProcessGroup {
  name: string;
  /** The group's main process; the others are its descendants. */
  root: ProcInfo;
  members: ProcInfo[];
}

export interface GroupReading {
  name: string;
  rootPid: number;
  processes: number;
  /** Root RSS plus the private memory of its descendants: shared buffers are counted once, not once per backend. */
  rssBytes: number;
  /** CPU since the root started, its ended children included, in seconds. */
  cpuSeconds: number;
}

export function readGroup({ name, root, members }: ProcessGroup): GroupReading {
  const others = members.filter((m) => m.pid !== root.pid);
  return {
    name,
    rootPid: root.pid,
    processes: members.length,
    rssBytes: root.rssBytes + others.reduce((sum, m) => sum + m.rssAnonBytes, 0),
    cpuSeconds: root.cpuSeconds + root.reapedChildrenCpuSeconds + others.reduce((sum, m) => sum + m.cpuSeconds, 0),
  };
}

/** How each of the stack's processes is recognised among this process's descendants (by its entry script). */
const serviceMarkers: { name: string; matches: (p: ProcInfo) => boolean }[] = [
  { name: 'orders-worker', matches: (p) => /workers\/orders\/main\.ts|orders-worker\.ts/.test(p.cmdline) },
  // The e2e stack runs the product's payments worker through a wrapper that records gateway calls.
  { name: 'payments-worker', matches: (p) => /workers\/payments\/main\.ts|payments-worker\.ts/.test(p.cmdline) },
  { name: 'api', matches: (p) => /api\/server\.ts/.test(p.cmdline) },
  {
    name: 'temporal',
    matches: (p) => p.cmdline.includes('server start-dev') || /temporal-server start/.test(p.cmdline),
  },
  // The load balancer in front of a Temporal cluster's frontends (--temporal-nodes).
  { name: 'haproxy', matches: (p) => p.comm === 'haproxy' },
  // The postmaster: its backends and background workers retitle themselves `postgres: …`.
  { name: 'postgres', matches: (p) => p.comm === 'postgres' && !p.cmdline.startsWith('postgres:') },
];

/** The stack's processes under `rootPid` (this bench), plus the bench process itself. */
export async function findStackGroups(rootPid: number): Promise<ProcessGroup[]> {
  const all = await listProcesses();
  const mine = descendantsOf(rootPid, all);
  const groups: ProcessGroup[] = [];
  for (const { name, matches } of serviceMarkers) {
    // With several workers of a kind (--workers 2) the second is `orders-worker-2`, and so on.
    mine.filter(matches).forEach((root, i) => {
      groups.push({
        name: i === 0 ? name : `${name}-${i + 1}`,
        root,
        members: [root, ...descendantsOf(root.pid, all)],
      });
    });
  }
  const self = all.find((p) => p.pid === rootPid);
  // The bench's own CPU only: its children are rows of their own.
  if (self) groups.push({ name: 'bench', root: { ...self, reapedChildrenCpuSeconds: 0 }, members: [self] });
  return groups;
}
