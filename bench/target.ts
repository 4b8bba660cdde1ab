// The system under test: the full stack the bench starts itself (dev/stack/stack.ts), or one already running whose
// addresses were given. Only a stack of its own can be restarted, killed and measured per process.
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { createDb, type Db } from '../src/db/knex';
import { startStack, type TemporalKind } from '../dev/stack/stack';
import type { ApiEndpoint } from './orders';

/** A service as the bench controls it (the orders worker, the API): a crash, a start with other settings. */
export interface WorkerControl {
  kill(): Promise<void>;
  /** Resolves with the milliseconds until the worker said it was started. */
  start(env?: NodeJS.ProcessEnv): Promise<number>;
  restart(env?: NodeJS.ProcessEnv): Promise<number>;
}

export interface BenchTarget {
  kind: 'embedded' | 'external';
  apiUrl: string;
  /** The API's address with the operator token the bench calls it with. */
  endpoint: ApiEndpoint;
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  client: Client;
  /** The bench's own small pool for polling states; measurements that need more open their own. */
  db: Db;
  /** Only when the bench started the stack. */
  ordersWorker?: WorkerControl;
  /** The API process, restarted with other settings (only when the bench started the stack). */
  api?: WorkerControl;
  /** Where the stack's processes log (embedded only). */
  logDir?: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Delivery delay the API gives each new order (the lifecycle measurement's 1 s). */
  deliveryDelaySeconds: number;
  /** Product settings for every service (`--env KEY=VALUE`), e.g. WORKER_WORKFLOW_CACHE_SIZE, DB_POOL_MAX. */
  serviceEnv: Record<string, string>;
  /** The dev server (`npm start`'s) or the production server on PostgreSQL (docker-compose's). */
  temporalServer: TemporalKind;
  /** Production Temporal nodes behind a load balancer (1: a lone server). */
  temporalNodes: number;
  /** Orders workers and payments workers, each. */
  workers: number;
  /** `--profile`: Node's flags for the workers and the API, and the Temporal server's pprof port. */
  profile?: { nodeArgs: string[]; temporalPprofPort: number };
}

export async function startEmbeddedTarget({
  deliveryDelaySeconds,
  serviceEnv,
  temporalServer,
  temporalNodes,
  workers,
  profile,
}: EmbeddedOptions): Promise<BenchTarget> {
  const stack = await startStack(
    'bench',
    {
      ordersWorker: { ...serviceEnv },
      // Approval 1.0: every order takes the whole path to delivered (the bench also pays with tok_approve).
      paymentsWorker: { PAYMENT_APPROVAL_RATE: '1', ...serviceEnv },
      api: { DELIVERY_DELAY_SECONDS: String(deliveryDelaySeconds), ...serviceEnv },
    },
    // The workers' own entry points, as `npm start` runs them (not the e2e wrappers that record gateway calls).
    { temporal: temporalServer, temporalNodes, workers, productEntryPoints: true, ...profile },
  );
  return {
    kind: 'embedded',
    apiUrl: stack.apiUrl,
    endpoint: { url: stack.apiUrl, token: stack.operatorToken },
    temporalAddress: stack.temporal.address,
    namespace: 'default',
    databaseUrl: connectionUrl(stack.db.client.config.connection),
    client: stack.client,
    db: stack.db,
    ordersWorker: stack.ordersWorker,
    api: stack.api,
    logDir: stack.logDir,
    stop: () => stack.stop(),
  };
}

/** The stack does not name its database URL; its handle's (parsed) connection settings do. */
function connectionUrl(connection: Knex.Config['connection']): string {
  if (typeof connection === 'string') return connection;
  const settings = connection as Knex.PgConnectionConfig | undefined;
  if (!settings?.host || !settings.port || !settings.database) throw new Error('cannot tell the stack database URL');
  const auth = `${encodeURIComponent(settings.user ?? 'postgres')}:${encodeURIComponent(String(settings.password ?? ''))}`;
  return `postgres://${auth}@${settings.host}:${settings.port}/${encodeURIComponent(settings.database)}`;
}

export interface ExternalAddresses {
  apiUrl: string;
  /** An operator token for that API (`npm run token -- --operator` there). */
  apiToken: string;
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
}

export async function connectExternalTarget(addresses: ExternalAddresses): Promise<BenchTarget> {
  const connection = await Connection.connect({ address: addresses.temporalAddress });
  const db = createDb({ url: addresses.databaseUrl, poolMax: 4 });
  return {
    kind: 'external',
    ...addresses,
    endpoint: { url: addresses.apiUrl, token: addresses.apiToken },
    client: new Client({ connection, namespace: addresses.namespace }),
    db,
    stop: async () => {
      await Promise.all([connection.close(), db.destroy()]);
    },
  };
}
