// `npm run bench:console [-- --consoles 20 --seconds 60]`: what live updates cost the API and PostgreSQL, server-sent
// events (what the console does) against polling with ETags every 2 s (the alternative), with no console open, with
// N idle consoles, and with N consoles while an order a second is created; and how soon a new order shows in each.
// The consoles are simulated by this process, making the requests the console makes. docs/console.md has the figures.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from '../dev/stack/stack';
import { findStackGroups, readGroup } from './procfs';
import { distribution } from './stats';

const POLL_MS = 2_000;

type Mode = 'none' | 'poll' | 'sse';

interface Reading {
  apiCpu: number;
  postgresCpu: number;
  requests: number;
  transactions: number;
}

async function read(stack: Stack): Promise<Reading> {
  const groups = await findStackGroups(process.pid);
  const cpu = (name: string) => {
    const group = groups.find((g) => g.name === name);
    return group ? readGroup(group).cpuSeconds : NaN;
  };
  const metrics = await (await fetch(`${stack.apiUrl}/metrics`)).text();
  const requests = [...metrics.matchAll(/^http_requests_total\{([^}]*)\} (\d+)/gm)]
    .filter(([, labels]) => !labels.includes('route="/metrics"'))
    .reduce((sum, [, , count]) => sum + Number(count), 0);
  const [{ xact_commit: transactions }] = await stack
    .db('pg_stat_database')
    .where({ datname: 'orders' })
    .select<{ xact_commit: number }[]>('xact_commit');
  return { apiCpu: cpu('api'), postgresCpu: cpu('postgres'), requests, transactions: Number(transactions) };
}

/** One open console: it reads the first page and the summary, again at each poll or announced change. */
class SimulatedConsole {
  private readonly etags = new Map<string, string>();
  private readonly seen = new Set<string>();
  private readonly abort = new AbortController();

  constructor(
    private readonly stack: Stack,
    private readonly posted: Map<string, number>,
    private readonly latencies: number[],
  ) {}

  private async get(path: string): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.stack.operatorToken}` };
    const etag = this.etags.get(path);
    if (etag) headers['if-none-match'] = etag;
    const response = await fetch(`${this.stack.apiUrl}${path}`, { headers, signal: this.abort.signal });
    if (response.status === 304) return undefined;
    const tag = response.headers.get('etag');
    if (tag) this.etags.set(path, tag);
    return response.json();
  }

  async refresh(): Promise<void> {
    const [page] = await Promise.all([this.get('/orders?limit=20'), this.get('/orders/summary')]);
    for (const { id } of (page as { items: { id: string }[] } | undefined)?.items ?? []) {
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      const postedAt = this.posted.get(id);
      if (postedAt !== undefined) this.latencies.push(Date.now() - postedAt);
    }
  }

  private lastRead = 0;
  private pendingRead: NodeJS.Timeout | undefined;

  /** As the console does (src/console/live.ts): at once after a quiet second, else once that second is over. */
  private rereadThrottled(): void {
    if (this.pendingRead) return;
    const read = () => {
      this.pendingRead = undefined;
      this.lastRead = Date.now();
      void this.refresh().catch(() => undefined);
    };
    const wait = this.lastRead + 1_000 - Date.now();
    if (wait <= 0) read();
    else this.pendingRead = setTimeout(read, wait);
  }

  async poll(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await this.refresh().catch(() => undefined);
      await sleep(POLL_MS, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  async follow(): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/orders/changes`, {
      headers: { authorization: `Bearer ${this.stack.operatorToken}` },
      signal: this.abort.signal,
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        // ready and change events alike: read again (a keep-alive comment carries no event).
        if (decoder.decode(chunk as Uint8Array, { stream: true }).includes('event:')) this.rereadThrottled();
      }
    } catch {
      // aborted: the phase is over
    }
  }

  run(mode: Exclude<Mode, 'none'>): Promise<void> {
    return mode === 'poll' ? this.poll() : this.follow();
  }

  stop(): void {
    clearTimeout(this.pendingRead);
    this.abort.abort();
  }
}

interface PhaseResult {
  phase: string;
  consoles: number;
  apiCpuPercent: number;
  postgresCpuPercent: number;
  requestsPerMinute: number;
  transactionsPerMinute: number;
  showsWithinMs?: { p50: number; p95: number; max: number; samples: number };
}

async function phase(
  stack: Stack,
  { mode, consoles, busy, seconds }: { mode: Mode; consoles: number; busy: boolean; seconds: number },
): Promise<PhaseResult> {
  const posted = new Map<string, number>();
  const latencies: number[] = [];
  const open =
    mode === 'none' ? [] : Array.from({ length: consoles }, () => new SimulatedConsole(stack, posted, latencies));
  const running = open.map((c) => c.run(mode as Exclude<Mode, 'none'>));
  await sleep(3_000); // connected, first reads done
  const before = await read(stack);
  const started = Date.now();
  while (Date.now() - started < seconds * 1_000) {
    if (busy) {
      const postedAt = Date.now();
      const response = await fetch(`${stack.apiUrl}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: 'bench-console',
          items: [{ sku: 'FUEL-95', quantity: 1, unitPrice: 1050 }],
          paymentToken: 'tok_approve',
        }),
      });
      posted.set(((await response.json()) as { id: string }).id, postedAt);
    }
    await sleep(1_000);
  }
  const after = await read(stack);
  const minutes = (Date.now() - started) / 60_000;
  await sleep(POLL_MS + 1_000); // the last orders reach every console
  for (const c of open) c.stop();
  await Promise.all(running);
  const perMinute = (key: keyof Reading) => Math.round((after[key] - before[key]) / minutes);
  const cpuPercent = (key: 'apiCpu' | 'postgresCpu') =>
    Number((((after[key] - before[key]) / (minutes * 60)) * 100).toFixed(2));
  const spread = latencies.length > 0 ? distribution(latencies) : undefined;
  return {
    phase: `${busy ? 'busy (1 order/s)' : 'idle'}, ${mode === 'none' ? 'no console' : mode === 'poll' ? 'ETag polling every 2 s' : 'server-sent events'}`,
    consoles: open.length,
    apiCpuPercent: cpuPercent('apiCpu'),
    postgresCpuPercent: cpuPercent('postgresCpu'),
    requestsPerMinute: perMinute('requests'),
    transactionsPerMinute: perMinute('transactions'),
    showsWithinMs: spread && { p50: spread.p50, p95: spread.p95, max: spread.max, samples: latencies.length },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { consoles: { type: 'string', default: '20' }, seconds: { type: 'string', default: '60' } },
  });
  const consoles = Number(values.consoles);
  const seconds = Number(values.seconds);
  const stack = await startStack('console-live');
  try {
    const results: PhaseResult[] = [];
    for (const [mode, busy] of [
      ['none', false],
      ['poll', false],
      ['sse', false],
      ['none', true],
      ['poll', true],
      ['sse', true],
    ] as const) {
      const result = await phase(stack, { mode, consoles, busy, seconds });
      results.push(result);
      process.stderr.write(`${JSON.stringify(result)}\n`);
    }
    process.stdout.write(
      '| phase | consoles | API CPU % | PostgreSQL CPU % | API requests/min | DB transactions/min | new order shows in (p50 / p95 / max ms) |\n',
    );
    process.stdout.write('| --- | ---: | ---: | ---: | ---: | ---: | --- |\n');
    for (const r of results) {
      const shows = r.showsWithinMs ? `${r.showsWithinMs.p50} / ${r.showsWithinMs.p95} / ${r.showsWithinMs.max}` : '–';
      process.stdout.write(
        `| ${r.phase} | ${r.consoles} | ${r.apiCpuPercent} | ${r.postgresCpuPercent} | ${r.requestsPerMinute} | ${r.transactionsPerMinute} | ${shows} |\n`,
      );
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
