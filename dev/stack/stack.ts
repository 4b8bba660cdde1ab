// The whole product as separate OS processes on free loopback ports: PostgreSQL, a Temporal server (the dev server
// with its state in a file, or with E2E_TEMPORAL=real the production server persisting in the same PostgreSQL, or a
// cluster of production servers behind a load balancer), the orders worker, the payments worker and the API,
// optionally several of each. Scenarios kill, stop and restart any.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { embeddedDatabaseUrl } from '../../src/config';
import { loadOrCreateSigningKey, signToken, type TokenClaims } from '../../src/api/auth-keys';
import { EncryptionCodec, loadOrCreatePayloadKeys } from '../../src/payload-codec';
import { bundleOrderWorkflows } from '../../src/workers/orders/workflow-bundle';
import { createDatabase } from '../tools/postgres';
import { writeDynamicConfig } from '../tools/temporal-production';
import type { DynamicConfigValues } from '../tools/temporal-server';
import { createDb, migrateLatest, type Db } from '../../src/db/knex';
import { eventually } from '../support/poll';
import { freePort } from '../tools/net';
import { readGatewayCalls, type GatewayCall } from './gateway-calls';
import { ManagedService } from './service';
import { TemporalCluster } from './temporal-cluster';
import { findTemporalCli, TemporalDevServer, TemporalProductionServer } from './temporal-server';

const root = join(__dirname, '..', '..');

/** Short, so deliveries fall due within a scenario (the product's default is in src/config.ts). */
export const DELIVERY_DELAY_SECONDS = 2;

/** The Temporal of an e2e stack: the dev server, one production server, or a cluster of them. */
export type TemporalUnderTest = TemporalDevServer | TemporalProductionServer | TemporalCluster;

export interface Stack {
  apiUrl: string;
  /** An operator's token for the API (the stack's own signing key). */
  operatorToken: string;
  /** A token the API accepts, for any caller. */
  token(claims: TokenClaims): Promise<string>;
  /** Every secret of the stack: the tokens it minted, payload keys, the database URL, the Temporal API key. */
  credentials(): string[];
  /** PostgreSQL's supervisor process: stop() stops the database, start() brings it back on its data directory. */
  postgres: ManagedService;
  temporal: TemporalUnderTest;
  temporalKind: TemporalKind;
  /** The dev server's Web UI, which decodes payloads through the first API's codec endpoint; none on the real one. */
  temporalUiUrl?: string;
  /** The first instance of each kind; with `workers` or `apis` > 1 the others are in the lists below. */
  ordersWorker: ManagedService;
  paymentsWorker: ManagedService;
  api: ManagedService;
  ordersWorkers: ManagedService[];
  paymentsWorkers: ManagedService[];
  apis: ManagedService[];
  /** One URL per API instance, in the order of `apis`. */
  apiUrls: string[];
  /** Temporal client of the test itself: workflow `status` queries and descriptions for the audit. */
  client: Client;
  /** The test's own view of the `orders` database. */
  db: Db;
  /** The stack's own temporary directory, kept after it stops with the logs (logDir) in it. */
  runDir: string;
  logDir: string;
  /** The workflow bundle the stack's orders workers load: the one the image builds from this tree. */
  workflowBundlePath: string;
  /**
   * One more orders worker, not yet started, with `env` over the stack's: another WORKFLOW_BUNDLE_PATH, a Worker
   * Deployment Version. Stopped with the stack, its exits and log reported like the others'.
   */
  addOrdersWorker(name: string, env: NodeJS.ProcessEnv): Promise<ManagedService>;
  /** Every call the payments worker made to the mock gateway, by workflow id. */
  gatewayCalls(): Promise<Map<string, GatewayCall[]>>;
  /** Exits of a product process that no scenario caused. */
  unexpectedExits(): string[];
  /** Where each process logged, with the end of each log. */
  logReport(): Promise<string>;
  stop(): Promise<void>;
}

/** Config variables of the product that must come from the harness, never from the environment jest runs in. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const ours =
    /^(TEMPORAL_|PAYMENT_|WORKER_|OTEL_|AUTH_|RATE_LIMIT|ORDERS_MAX|CANCEL_DECISION|PAYLOAD_KEYS|CODEC_|DATABASE_URL$|PORT$|DELIVERY_DELAY_SECONDS$|LOG_LEVEL$|WORKFLOW_BUNDLE|DB_POOL)/;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !ours.test(key)));
}

/** The orders workers load the bundle the image would carry, built once for all of them. */
async function writeWorkflowBundle(path: string): Promise<void> {
  const { code } = await bundleOrderWorkflows({ logger: new DefaultLogger('WARN') });
  await writeFile(path, code);
}

const postgresUrl = embeddedDatabaseUrl;

async function startPostgres(postgres: ManagedService, port: number): Promise<void> {
  await postgres.start();
  await createDatabase(postgresUrl(port, 'postgres'), 'orders');
  const db = createDb({ url: postgresUrl(port, 'orders'), poolMax: 1 });
  await migrateLatest(db).finally(() => db.destroy());
}

/** Like Promise.all, but every task has ended before a failure is thrown: nothing runs on after a failed start. */
async function allSettled(tasks: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(tasks)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export type TemporalKind = 'dev' | 'real';

/** Which Temporal server, and how many of each product process. */
export interface StackOptions {
  /** Default: E2E_TEMPORAL (`dev` unless set to `real`). */
  temporal?: TemporalKind;
  /** Orders workers and payments workers, each (default 1). */
  workers?: number;
  /** API instances (default 1). */
  apis?: number;
  /** The Temporal server serves Go's pprof on this loopback port (the bench's --profile). */
  temporalPprofPort?: number;
  /** Node's own flags for the workers and the API (the bench's --profile: `--cpu-prof`). */
  nodeArgs?: string[];
  /**
   * The workers' own entry points (src/workers/{orders,payments}/main.ts), as `npm start` runs them: the bench. Otherwise the e2e
   * wrappers, which can crash on cue (E2E_CRASH_AFTER) and write every gateway call to the log for the audit.
   */
  productEntryPoints?: boolean;
  /**
   * Production Temporal nodes (default 1); more than one makes a cluster behind a load balancer (temporal-cluster.ts),
   * and needs `temporal: 'real'`.
   */
  temporalNodes?: number;
  /** Dynamic config for this stack's Temporal server only (one server), on top of what `npm start` or deploy/ sets. */
  temporalDynamicConfig?: DynamicConfigValues;
}

function temporalKindFromEnv(): TemporalKind {
  const kind = process.env.E2E_TEMPORAL ?? 'dev';
  if (kind !== 'dev' && kind !== 'real') throw new Error(`E2E_TEMPORAL=${kind}: expected dev or real`);
  return kind;
}

/** Settings per service for the stack's first start (restarts can change them). */
export interface ServiceEnvs {
  ordersWorker?: NodeJS.ProcessEnv;
  paymentsWorker?: NodeJS.ProcessEnv;
  api?: NodeJS.ProcessEnv;
}

export async function startStack(name: string, envs: ServiceEnvs = {}, options: StackOptions = {}): Promise<Stack> {
  const temporalKind = options.temporal ?? temporalKindFromEnv();
  const { workers = 1, apis: apiCount = 1, temporalNodes = 1, temporalDynamicConfig } = options;
  if (temporalNodes > 1 && temporalKind !== 'real') throw new Error('a Temporal cluster is of production servers');
  const runDir = await mkdtemp(join(tmpdir(), `e2e-${name}-`));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir);
  // Directly under the temp dir: the unprivileged postgres user must reach it (a root-only parent would not do).
  const pgDataDir = await mkdtemp(join(tmpdir(), 'e2e-pg-'));
  const [pgPort, temporalPort, uiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const apiPorts = await Promise.all(Array.from({ length: apiCount }, () => freePort()));
  // Each worker's /readyz and /metrics: orders workers first, then payments workers.
  const healthPorts = await Promise.all(Array.from({ length: 2 * workers }, () => freePort()));
  const bundlePath = join(runDir, 'workflow-bundle.js');
  // The API verifies with this key, as `npm start`'s does with the one under .data/.
  const keyFile = join(runDir, 'signing-key.json');
  const signingKey = await loadOrCreateSigningKey(keyFile);
  const minted: string[] = [];
  const token = async (claims: TokenClaims) => {
    const signed = await signToken(signingKey, { expiresIn: '24h', ...claims });
    minted.push(signed);
    return signed;
  };
  const operatorToken = await token({ subject: 'e2e-operator', role: 'operator' });
  // Every service encrypts payloads with this key file; the test's own client too, to read the workflows' views.
  const payloadKeysFile = join(runDir, 'payload-keys.json');
  const payloadKeys = await loadOrCreatePayloadKeys(payloadKeysFile);
  const payloadCodec = new EncryptionCodec(payloadKeys);

  const temporalApiKey = randomBytes(24).toString('base64url');
  const temporalLog = join(logDir, 'temporal.log');
  const temporalPostgres = { host: '127.0.0.1', port: pgPort, user: 'postgres', password: 'postgres' };
  const temporal: TemporalUnderTest =
    temporalNodes > 1
      ? await TemporalCluster.create(temporalPostgres, temporalNodes, runDir)
      : temporalKind === 'real'
        ? await TemporalProductionServer.create(temporalPostgres, temporalLog, {
            pprofPort: options.temporalPprofPort,
            dynamicConfigPath:
              temporalDynamicConfig &&
              (await writeDynamicConfig(join(runDir, 'dynamicconfig.yaml'), temporalDynamicConfig)),
          })
        : new TemporalDevServer(
            await findTemporalCli(),
            temporalPort,
            join(runDir, 'temporal.db'),
            temporalLog,
            {
              port: uiPort,
              // As `npm start` configures its UI: the operator's token in the path, since the UI sends none of its own.
              codecEndpoint: `http://127.0.0.1:${apiPorts[0]}/codec/t/${operatorToken}`,
            },
            options.temporalPprofPort,
            temporalDynamicConfig,
          );
  const temporalLogs = temporal instanceof TemporalCluster ? temporal.logs : [temporal.log];
  const env: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    DATABASE_URL: postgresUrl(pgPort, 'orders'),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    DELIVERY_DELAY_SECONDS: String(DELIVERY_DELAY_SECONDS),
    LOG_LEVEL: 'info',
    PAYLOAD_KEYS_FILE: payloadKeysFile,
    // Every service sends it as it would to Temporal Cloud (a server without an authorizer ignores it), so that the
    // search of the logs for credentials covers it too; TLS stays off on loopback.
    TEMPORAL_API_KEY: temporalApiKey,
    TEMPORAL_TLS: 'false',
  };
  const service = (
    serviceName: string,
    script: string,
    readyMessage: string,
    extra: NodeJS.ProcessEnv = {},
    readinessUrl?: string,
    nodeArgs = options.nodeArgs,
  ) =>
    new ManagedService(
      { name: serviceName, script: join(root, script), readyMessage, readinessUrl, nodeArgs },
      join(logDir, `${serviceName}.log`),
      {
        ...env,
        ...extra,
      },
    );
  const numbered = (base: string, i: number) => (i === 0 ? base : `${base}-${i + 1}`);
  const each = <T>(count: number, make: (i: number) => T) => Array.from({ length: count }, (_, i) => make(i));
  const { productEntryPoints = false } = options;
  // The product's orders worker, which a scenario can arm to crash right after a write (orders-worker.ts).
  const workerHealth = (port: number) =>
    [{ WORKER_HEALTH_PORT: String(port) }, `http://127.0.0.1:${port}/readyz`] as const;
  const ordersWorker = (serviceName: string, healthPort: number, extra: NodeJS.ProcessEnv = {}) => {
    const [healthEnv, readinessUrl] = workerHealth(healthPort);
    return service(
      serviceName,
      productEntryPoints ? 'src/workers/orders/main.ts' : 'dev/stack/orders-worker.ts',
      'worker started',
      { WORKFLOW_BUNDLE_PATH: bundlePath, ...healthEnv, ...extra },
      readinessUrl,
    );
  };
  const ordersWorkers = each(workers, (i) =>
    ordersWorker(numbered('orders-worker', i), healthPorts[i], envs.ordersWorker),
  );
  // The product's payments worker with its gateway calls on record, so the audit can count charges.
  const paymentsWorkers = each(workers, (i) => {
    const [healthEnv, readinessUrl] = workerHealth(healthPorts[workers + i]);
    return service(
      numbered('payments-worker', i),
      productEntryPoints ? 'src/workers/payments/main.ts' : 'dev/stack/recording-payments-worker.ts',
      'worker started',
      { ...healthEnv, ...envs.paymentsWorker },
      readinessUrl,
    );
  });
  const apis = each(apiCount, (i) =>
    service(
      numbered('api', i),
      'src/api/server.ts',
      'api listening',
      {
        PORT: String(apiPorts[i]),
        AUTH_KEY_FILE: keyFile,
        // The Web UI by both of its names, as in the default: each browser request is answered with its own origin.
        CODEC_CORS_ORIGIN: `http://localhost:${uiPort},http://127.0.0.1:${uiPort}`,
        ...(temporal instanceof TemporalDevServer && { TEMPORAL_UI_URL: temporal.uiUrl }),
        // The scenarios' and the bench's load generators call as one operator, far faster than any person: its limit
        // is raised on purpose; customers and callers without a valid token keep the product's defaults.
        RATE_LIMIT_OPERATOR_PER_MINUTE: '1000000',
        ...envs.api,
      },
      `http://127.0.0.1:${apiPorts[i]}/readyz`,
    ),
  );
  const services = [...ordersWorkers, ...paymentsWorkers, ...apis];
  const postgres = service(
    'postgres',
    'dev/stack/postgres-main.ts',
    'postgres ready',
    {
      E2E_PG_DATA_DIR: pgDataDir,
      E2E_PG_PORT: String(pgPort),
      // Every service of every Temporal node keeps pools of its own (SQL_MAX_CONNS 20 + SQL_VIS_MAX_CONNS 10 in the
      // image's config): a second node outgrows PostgreSQL's default of 100 under the bench's load.
      ...(temporalNodes > 1 ? { E2E_PG_MAX_CONNECTIONS: String(100 * temporalNodes) } : {}),
    },
    undefined,
    [], // its supervisor only waits on the server: nothing of the product's to profile
  );

  // Whatever happens to this test process, no server or service outlives it.
  const killAll = () => {
    for (const s of services) s.killNow();
    temporal.killNow();
    // Its supervisor stops PostgreSQL on SIGTERM; a SIGKILL would orphan the server.
    postgres.killNow('SIGTERM');
  };
  process.once('exit', killAll);

  let client: Client | undefined;
  let db: Db | undefined;
  const stop = async () => {
    const failures: unknown[] = [];
    const attempt = (step: () => Promise<unknown>) => step().catch((error: unknown) => failures.push(error));
    await Promise.all(services.map((s) => attempt(() => s.stop())));
    await attempt(async () => client?.connection.close());
    await attempt(async () => db?.destroy());
    await attempt(() => temporal.stop());
    await attempt(() => postgres.stop());
    killAll(); // leftovers only: everything above has stopped by now
    process.removeListener('exit', killAll);
    const logs = [...services.map((s) => s.log), ...temporalLogs, postgres.log];
    await Promise.all(logs.map((log) => attempt(() => log.close())));
    await attempt(() => rm(pgDataDir, { recursive: true, force: true }));
    await attempt(() => rm(join(runDir, 'temporal.db'), { force: true })); // the dev server's
    if (failures.length > 0) throw new AggregateError(failures, 'stopping the e2e stack failed');
  };

  try {
    // The production server persists in this PostgreSQL, so it starts once the database is up.
    const temporalUp =
      temporal instanceof TemporalDevServer
        ? allSettled([startPostgres(postgres, pgPort), temporal.start()])
        : startPostgres(postgres, pgPort).then(() => temporal.start());
    await allSettled([temporalUp, writeWorkflowBundle(bundlePath)]);
    await allSettled(services.map((s) => s.start()));
    client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
      namespace: 'default',
      dataConverter: { payloadCodecs: [payloadCodec] },
    });
    db = createDb({ url: postgresUrl(pgPort, 'orders'), poolMax: 8 });
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    for (const url of apiUrls) {
      await eventually('the API to be ready', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
    }
    const addOrdersWorker = async (serviceName: string, extra: NodeJS.ProcessEnv) => {
      const worker = ordersWorker(serviceName, await freePort(), extra);
      services.push(worker);
      return worker;
    };
    const stack: Stack = {
      apiUrl: apiUrls[0],
      apiUrls,
      operatorToken,
      token,
      credentials: () => [
        ...minted,
        ...payloadKeys.map(({ key }) => key.toString('base64')),
        postgresUrl(pgPort, 'orders'),
        temporalApiKey,
      ],
      postgres,
      temporal,
      temporalKind,
      temporalUiUrl: temporal instanceof TemporalDevServer ? temporal.uiUrl : undefined,
      ordersWorker: ordersWorkers[0],
      paymentsWorker: paymentsWorkers[0],
      api: apis[0],
      ordersWorkers,
      paymentsWorkers,
      apis,
      client,
      db,
      runDir,
      logDir,
      workflowBundlePath: bundlePath,
      addOrdersWorker,
      gatewayCalls: async () => {
        const all = new Map<string, GatewayCall[]>();
        for (const worker of paymentsWorkers) {
          await worker.log.flushed();
          for (const [workflowId, calls] of await readGatewayCalls(worker.log.path))
            all.set(workflowId, [...(all.get(workflowId) ?? []), ...calls]);
        }
        return all;
      },
      unexpectedExits: () => services.flatMap((s) => s.unexpectedExits),
      logReport: async () => {
        const logs = await Promise.all(
          [postgres.log, ...temporalLogs, ...services.map((s) => s.log)].map(
            async (log) => `==> ${log.path} <==\n${await log.tail()}`,
          ),
        );
        return logs.join('\n\n');
      },
      stop,
    };
    return stack;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** Runs a scenario; when it fails, the error carries where each process logged and how each log ends. */
export async function withLogsOnFailure(stack: Stack, scenario: () => Promise<void>): Promise<void> {
  try {
    await scenario();
  } catch (error) {
    const logs = await stack.logReport();
    if (error instanceof Error) {
      error.message += `\n\nProcess logs (${stack.logDir}):\n${logs}`;
      throw error;
    }
    throw new Error(`${String(error)}\n\nProcess logs (${stack.logDir}):\n${logs}`);
  }
}
