// The production Temporal server (the one docker-compose and the chart run), built from its Go module and run without
// Docker: configured only through the docker image's environment variables, persisting in PostgreSQL.
import { spawn } from 'node:child_process';
import { cp, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { toolsCacheDir } from './cache';
import { findOnPath, installAtomically, isExecutable, run, supervise, type Log } from './exec';
import { portIsFree, waitForPort } from './net';
import { orderSearchAttributes, type DynamicConfigValues } from './temporal-server';

/** The server release docker-compose.yml and the chart pin (v1.32.2 needs a newer Go than 1.26.x's early patches). */
export const TEMPORAL_SERVER_VERSION = '1.32.1';
const MODULE = 'go.temporal.io/server';

/** deploy/'s dynamic config, the file docker-compose mounts into the server. */
export const deployDynamicConfigPath = resolve(
  __dirname,
  '..',
  '..',
  'deploy',
  'temporal',
  'dynamicconfig',
  'docker-sql.yaml',
);

/**
 * deploy/'s dynamic config with `values` added, written to `path`: production's settings plus a test's own (a key
 * deploy/ sets already is refused rather than shadowed). Each value holds for the whole cluster, as deploy/'s do.
 */
export async function writeDynamicConfig(path: string, values: DynamicConfigValues): Promise<string> {
  const production = await readFile(deployDynamicConfigPath, 'utf8');
  const clashing = Object.keys(values).filter((key) => production.split('\n').includes(`${key}:`));
  if (clashing.length > 0) throw new Error(`${clashing.join(', ')}: set in ${deployDynamicConfigPath} already`);
  const added = Object.entries(values).map(
    ([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`,
  );
  await writeFile(
    path,
    `${production}# Added by the test that started this server, not production's:\n${added.join('')}`,
  );
  return path;
}

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** The module's `schema/postgresql/v12`, copied beside the binaries (the Go module cache may be cleaned). */
  schemaDir: string;
}

export function cachedTemporalServer(): TemporalServerBinaries {
  const dir = join(toolsCacheDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  return {
    server: join(dir, 'temporal-server'),
    sqlTool: join(dir, 'temporal-sql-tool'),
    schemaDir: join(dir, 'schema', 'postgresql', 'v12'),
  };
}

async function runGo(go: string, args: string[], env: NodeJS.ProcessEnv, log?: Log): Promise<string> {
  try {
    return await run(go, args, env);
  } catch (error) {
    // Module downloads come through the proxy, but the checksum database may be unreachable behind a firewall.
    if (!(error instanceof Error && /verifying|checksum database/i.test(error.message))) throw error;
    log?.('checksum database unreachable; retrying with GOSUMDB=off');
    return run(go, args, { ...env, GOSUMDB: 'off' });
  }
}

/**
 * temporal-server and temporal-sql-tool, `go install`ed once into the tools cache (about 3 minutes cold on 2 cores,
 * at `nice 10`), with the PostgreSQL schema files the same module ships. `build: false` only looks.
 */
export async function resolveTemporalServer(
  opts: { build?: boolean; log?: Log } = {},
): Promise<TemporalServerBinaries | undefined> {
  const cached = cachedTemporalServer();
  if ((await isExecutable(cached.server)) && (await isExecutable(cached.sqlTool))) return cached;
  if (opts.build === false) return undefined;
  const go = await findOnPath('go');
  if (!go) throw new Error('go (1.26 or later) is needed on PATH to build the Temporal server');
  const dir = join(cached.server, '..');
  opts.log?.(`building temporal-server ${TEMPORAL_SERVER_VERSION} and temporal-sql-tool (about 3 minutes cold)`);
  await installAtomically(dir, 'temporal-server', async (tmpDir) => {
    const env = { ...process.env, CGO_ENABLED: '0', GOBIN: tmpDir };
    const nice = await findOnPath('nice');
    const [command, prefix] = nice ? [nice, ['-n', '10', go]] : [go, []];
    const packages = ['cmd/server', 'cmd/tools/sql'].map((p) => `${MODULE}/${p}@v${TEMPORAL_SERVER_VERSION}`);
    await runGo(command, [...prefix, 'install', '-trimpath', '-ldflags=-s -w', ...packages], env, opts.log);
    // go install names them after their package directories; the image calls them so.
    await rename(join(tmpDir, 'server'), join(tmpDir, 'temporal-server'));
    await rename(join(tmpDir, 'sql'), join(tmpDir, 'temporal-sql-tool'));
    const modDir = (await run(go, ['env', 'GOMODCACHE'])).trim();
    const schema = join(modDir, `${MODULE}@v${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
    await cp(schema, join(tmpDir, 'schema', 'postgresql', 'v12'), { recursive: true });
  });
  return cached;
}

export interface TemporalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The persistence variables of the docker image (docker-compose.yml's x-temporal-postgres). */
function persistenceEnv(pg: TemporalPostgres): NodeJS.ProcessEnv {
  return {
    DB: 'postgres12_pgx',
    DB_PORT: String(pg.port),
    POSTGRES_SEEDS: pg.host,
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
  };
}

/**
 * What deploy/temporal/setup-schema.sh does in compose: both databases created and brought up to the release's
 * schema. Safe to rerun: `create` keeps a database, `setup-schema -v 0.0` never lowers a version.
 */
export async function setupTemporalSchema(binaries: TemporalServerBinaries, pg: TemporalPostgres): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: pg.host,
    SQL_PORT: String(pg.port),
    SQL_USER: pg.user,
    SQL_PASSWORD: pg.password,
  };
  for (const [database, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ]) {
    await run(binaries.sqlTool, ['--db', database, 'create'], env);
    await run(binaries.sqlTool, ['--db', database, 'setup-schema', '-v', '0.0'], env);
    const versioned = join(binaries.schemaDir, schema, 'versioned');
    await run(binaries.sqlTool, ['--db', database, 'update-schema', '-d', versioned], env);
  }
  await dropUnusedVisibilityIndexes(pg);
}

/** deploy/'s visibility-lean.sql, which compose's temporal-schema job runs after the schema, run the same way. */
export const visibilityLeanSqlPath = resolve(__dirname, '..', '..', 'deploy', 'temporal', 'visibility-lean.sql');

async function dropUnusedVisibilityIndexes(pg: TemporalPostgres): Promise<void> {
  const client = new PgClient({ ...pg, database: 'temporal_visibility' });
  await client.connect();
  try {
    await client.query(await readFile(visibilityLeanSqlPath, 'utf8'));
  } finally {
    await client.end();
  }
}

/** Every port the single-node server binds (each service's gRPC and membership port, the frontend's HTTP port). */
const PORT_VARIABLES = [
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'INTERNAL_FRONTEND_HTTP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

export type TemporalServerPorts = Record<(typeof PORT_VARIABLES)[number] | 'FRONTEND_GRPC_PORT', number>;

/**
 * Free loopback ports for every service of one server, chosen once: a restart binds the same ones. Below 32768: the
 * server records each member's port in PostgreSQL as a SMALLINT, and the OS hands out ephemeral ports above it. With
 * several `ips` (the nodes of a cluster, one per loopback alias) each port is free on every one of them.
 */
export async function freeServerPorts(ips: readonly string[] = ['127.0.0.1']): Promise<TemporalServerPorts> {
  const taken = new Set<number>();
  const freeEverywhere = async (port: number) =>
    (await Promise.all(ips.map((ip) => portIsFree(port, ip)))).every(Boolean);
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (!taken.has(port) && (await freeEverywhere(port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const ports: Partial<TemporalServerPorts> = {};
  for (const name of ['FRONTEND_GRPC_PORT', ...PORT_VARIABLES] as const) ports[name] = await pick();
  return ports as TemporalServerPorts;
}

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  postgres: TemporalPostgres;
  ip?: string;
  /** Defaults to the image's own (7233, 7234, …). */
  ports?: TemporalServerPorts;
  dynamicConfigPath?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Serve Go's pprof on localhost at this port (the image's PPROF_PORT; the bench's --profile); off by default. */
  pprofPort?: number;
  /** Each line the server prints; without it the output is inherited. */
  onOutput?: (line: string) => void;
}

export interface TemporalServerHandle {
  address: string;
  exited: Promise<number>;
  /** SIGTERM (the server drains and leaves its ring), SIGKILL if it hangs. */
  stop(): Promise<void>;
  /** The crash: SIGKILL, resolved once it is gone. */
  kill(): Promise<void>;
  /** SIGKILL at once, synchronously: for the last-resort cleanup of an exiting process. */
  killNow(): void;
}

/** `temporal-server start` with no flags reads the embedded config template, i.e. only these variables. */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServerHandle> {
  const ip = opts.ip ?? '127.0.0.1';
  const ports = opts.ports ?? {};
  const frontendPort = opts.ports?.FRONTEND_GRPC_PORT ?? 7233;
  const address = `${ip}:${frontendPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...persistenceEnv(opts.postgres),
    BIND_ON_IP: ip,
    DYNAMIC_CONFIG_FILE_PATH: opts.dynamicConfigPath ?? deployDynamicConfigPath,
    LOG_LEVEL: opts.logLevel ?? 'warn',
    // As in docker-compose: no authorizer on a loopback-only server, said so to keep it from warning at every start.
    TEMPORAL_ALLOW_NO_AUTH: 'true',
    ...(opts.pprofPort ? { PPROF_PORT: String(opts.pprofPort) } : {}),
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
  };
  const child = spawn(opts.binaries.server, ['start'], {
    env,
    stdio: opts.onOutput ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  const { exited, stop: stopWithin, kill, killNow } = supervise(child, opts.onOutput);
  const stop = () => stopWithin(20_000);
  try {
    await Promise.race([
      waitForPort(ip, frontendPort, 120_000).then(() => waitForNamespaceService(address, 120_000)),
      exited.then((code) => Promise.reject(new Error(`temporal-server exited with ${code}`))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, exited, stop, kill, killNow };
}

/** The frontend answers before history has its shards: ask for the system namespace until it is served. */
async function waitForNamespaceService(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`Temporal at ${address} did not serve in ${timeoutMs} ms: ${String(error)}`);
      await sleep(200);
    }
  }
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/**
 * What deploy/temporal/setup-namespace.sh does in compose: the namespace (retention 72 h) and the order search
 * attributes, each kept when it exists already. Retried while the server is still joining its ring.
 */
export async function ensureNamespace(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await registerOnce(connection, namespace);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  } finally {
    await connection.close();
  }
}

const ALREADY_EXISTS = 6;

async function registerOnce(connection: Connection, namespace: string): Promise<void> {
  await connection.workflowService
    .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('72h') })
    .catch((error: { code?: number }) => {
      if (error.code !== ALREADY_EXISTS) throw error;
    });
  const registered = async () =>
    (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  const before = await registered();
  const missing = orderSearchAttributes.filter(({ name }) => before[name] === undefined);
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(({ name }) => [name, KEYWORD])),
    });
  }
  const after = await registered();
  for (const { name } of orderSearchAttributes) {
    if (after[name] !== KEYWORD)
      throw new Error(`search attribute ${name} is not registered as Keyword in ${namespace}`);
  }
}
