// `npm start` as typed in a terminal (its own process group, so Ctrl-C reaches every process at once), against a
// PostgreSQL and a Temporal dev server of the test's: a child killed is started again in one line, a crash loop and
// a bad configuration stop everything naming the child, and Ctrl-C stops it all cleanly with no error logged.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually } from '../../dev/support/poll';
import { freePort } from '../../dev/tools/net';
import { createDevServerEnv } from '../support/temporal-env';
import { createTestDatabase, type TestDatabase } from '../support/database';

jest.setTimeout(240_000);

const root = join(__dirname, '..', '..');

interface NpmStart {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  /** Waits for an output line matching `pattern`; resolves with it. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Pids of this `npm start`'s processes whose command line contains `text`. */
  pidsRunning(text: string): number[];
}

let temporal: TestWorkflowEnvironment;
let database: TestDatabase;
let dataDir: string;
const started: NpmStart[] = [];

beforeAll(async () => {
  [temporal, database] = await Promise.all([createDevServerEnv(), createTestDatabase()]);
  dataDir = await mkdtemp(join(tmpdir(), 'npm-start-'));
});

afterAll(async () => {
  for (const run of started) if (run.child.exitCode === null) process.kill(-run.child.pid!, 'SIGKILL');
  await database?.drop();
  await temporal?.teardown();
  await rm(dataDir, { recursive: true, force: true });
});

async function npmStart(env: NodeJS.ProcessEnv = {}): Promise<NpmStart> {
  const child = spawn('npm', ['start'], {
    cwd: root,
    detached: true, // a process group of its own, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      PORT: String(await freePort()),
      AUTH_KEY_FILE: join(dataDir, 'signing-key.json'),
      PAYLOAD_KEYS_FILE: join(dataDir, 'payload-keys.json'),
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    createInterface({ input: stream! }).on('line', (l) => output.push(l));
  // 'close', not 'exit': the output's last lines may still be in the pipe when the process has exited.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  const run: NpmStart = {
    child,
    output,
    exited,
    line: (pattern, timeoutMs = 120_000) =>
      eventually(`a line matching ${pattern}`, () => output.find((l) => pattern.test(l)), {
        timeoutMs,
        intervalMs: 100,
      }).catch((error: Error) => {
        throw new Error(`${error.message}\nnpm start said:\n${output.join('\n')}`);
      }),
    pidsRunning: (text) =>
      execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' })
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter(([, pgid, ...args]) => Number(pgid) === child.pid && args.join(' ').includes(text))
        .map(([pid]) => Number(pid)),
  };
  started.push(run);
  return run;
}

it('restarts a child that dies, says so in one line, and stops everything cleanly on Ctrl-C', async () => {
  const run = await npmStart();
  const consoleLine = await run.line(/\[start\] Console/);
  // The tokens npm start prints for the person at the terminal, used as that person would.
  const [apiUrl, consoleToken] = consoleLine.split(/\s+/)[2].split('/console?token=');
  const customerToken = (await run.line(/TOKEN=/)).split('TOKEN=')[1];
  expect((await fetch(`${apiUrl}/console?token=${consoleToken}`)).status).toBe(200);
  expect((await fetch(`${apiUrl}/orders`, { headers: { authorization: `Bearer ${customerToken}` } })).status).toBe(200);
  // npm start waits for the API alone: the worker to be killed must have started, or only one start is ever said.
  await run.line(/^\[payments\].*worker started/);
  const [payments] = run.pidsRunning('src/workers/payments/main.ts');
  expect(payments).toBeGreaterThan(0);
  // One process runs start.ts: tsx's CLI would be a second, relaying Ctrl-C and SIGKILLing start.ts when it has not
  // taken the signal within ~60 ms (a loaded machine), before it stops anything.
  expect(run.pidsRunning('scripts/start.ts')).toHaveLength(1);

  process.kill(payments, 'SIGKILL');
  const restartLine = await run.line(/\[start\] payments exited/);
  await eventually(
    'a new payments worker',
    () => (run.pidsRunning('src/workers/payments/main.ts').some((pid) => pid !== payments) ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const startedLines = () => run.output.filter((l) => /^\[payments\].*worker started/.test(l)).length;
  await eventually('the new payments worker to poll', () => (startedLines() === 2 ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 200,
  });

  process.kill(-run.child.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
  const code = await run.exited;

  expect(restartLine).toMatch(/^\[start\] payments exited \(SIGKILL\).*; restarting it in 1 s$/);
  expect(run.output.filter((l) => l.startsWith('[start] ') && l.includes('exited'))).toHaveLength(1);
  // npm got the terminal's SIGINT too and answers it as shells do (128 + 2), once start.ts has stopped everything.
  expect([0, 130]).toContain(code);
  expect(run.output.at(-1)).toBe('[start] stopped');
  expect(run.output.filter((l) => /\b(ERROR|FATAL)\b|uncleanly|ERR_SERVER_NOT_RUNNING/.test(l))).toEqual([]);
  expect(run.pidsRunning('src/')).toEqual([]);
  // Printed on the terminal by npm start itself, and nowhere in what its services logged.
  const serviceLines = run.output.filter((l) => !l.startsWith('[start] '));
  for (const token of [consoleToken, customerToken]) expect(serviceLines.filter((l) => l.includes(token))).toEqual([]);
});

it('stops cleanly on Ctrl-C while its services still wait for Temporal, saying nothing failed', async () => {
  // A port of the test's own that hangs up on every connection: Temporal down, and nobody else can take the port.
  const hangUp: Server = createServer((socket) => socket.destroy());
  hangUp.listen(0, '127.0.0.1');
  await once(hangUp, 'listening');
  try {
    const run = await npmStart({ TEMPORAL_ADDRESS: `127.0.0.1:${(hangUp.address() as { port: number }).port}` });
    await run.line(/^\[api\].*waiting for temporal/);

    process.kill(-run.child.pid!, 'SIGINT');
    const code = await run.exited;

    expect([0, 130]).toContain(code);
    expect(run.output.at(-1)).toBe('[start] stopped');
    expect(run.output.filter((l) => /failed|\b(ERROR|FATAL)\b|uncleanly/.test(l))).toEqual([]);
    expect(run.pidsRunning('src/')).toEqual([]);
  } finally {
    hangUp.close();
  }
});

it('waits for a PostgreSQL of DATABASE_URL that is down, then migrates and starts once it answers', async () => {
  // Nothing listens on the port at first (connection refused); then a plain TCP relay to the test's PostgreSQL.
  const port = await freePort();
  const real = new URL(database.url);
  const down = new URL(database.url);
  down.hostname = '127.0.0.1';
  down.port = String(port);
  const relay: Server = createServer((socket) => {
    const upstream = connect(Number(real.port), real.hostname);
    socket.pipe(upstream).pipe(socket);
    for (const end of [socket, upstream]) end.on('error', () => (socket.destroy(), upstream.destroy()));
  });
  const run = await npmStart({ DATABASE_URL: down.toString() });
  try {
    await run.line(/^\[start\] waiting for postgres at 127\.0\.0\.1:\d+\/\w+: connection refused/);
    relay.listen(port, '127.0.0.1');
    await once(relay, 'listening');
    await run.line(/^\[start\] postgres answered after [\d.]+ s$/);
    await run.line(/^\[start\] (applied migrations|database schema is up to date)/);
    await run.line(/\[start\] Console/);

    process.kill(-run.child.pid!, 'SIGINT');
    expect([0, 130]).toContain(await run.exited);
    expect(run.output.filter((l) => /failed|\b(ERROR|FATAL)\b|uncleanly/.test(l))).toEqual([]);
    expect(run.output.filter((l) => /^\[start\] waiting for postgres/.test(l))).toHaveLength(1);
    expect(run.pidsRunning('src/')).toEqual([]);
  } finally {
    relay.close();
  }
});

it('stops everything on a crash loop, naming the child and its last lines', async () => {
  // A configured health port that is taken: each worker fails at start, again and again.
  const taken: Server = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const port = (taken.address() as { port: number }).port;
    const run = await npmStart({ WORKER_HEALTH_PORT: String(port) });
    const giveUp = await run.line(/stopping everything/, 200_000);
    const code = await run.exited;

    expect(code).toBe(1);
    expect(giveUp).toMatch(
      /^\[start\] (orders|payments) exited 5 times in a row, each within 60 s of its start; stopping everything\. Its last lines:/,
    );
    expect(run.output.join('\n')).toContain('EADDRINUSE');
    expect(run.output.filter((l) => /restarting it in/.test(l)).length).toBeGreaterThanOrEqual(4);
    expect(run.pidsRunning('src/')).toEqual([]);
  } finally {
    taken.close();
  }
});

it('stops at once on a bad configuration, with the one line that names it', async () => {
  const run = await npmStart({ TEMPORAL_NAMESPACE: 'no-such-namespace' });
  await run.line(/stopping everything/);
  const code = await run.exited;
  const badConfiguration = run.output.filter((l) => /bad configuration/.test(l));

  expect(code).toBe(1);
  expect(run.output.join('\n')).toMatch(
    /\[start\] (orders|payments|api) stopped on its configuration; stopping everything/,
  );
  expect(badConfiguration[0]).toMatch(/Namespace no-such-namespace is not found/);
  expect(run.output.filter((l) => /restarting it in/.test(l))).toEqual([]);
});
