// Entry point of the API process: read config, listen, wait for PostgreSQL and Temporal in the background (retrying
// with capped backoff while they are down; /readyz says what is missing); on SIGINT/SIGTERM drain requests and close.
// Only a bad configuration stops it on its own.
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config';
import { createDb } from '../db/knex';
import {
  BadConfiguration,
  postgresDependency,
  temporalDependency,
  WAIT_BACKOFF,
  waitFor,
  Waits,
  watchDependencies,
  type Watch,
} from '../dependencies';
import { createLogger } from '../logging';
import { configuredPayloadCodec } from '../payload-codec';
import { startTracing } from '../telemetry';
import { createApp } from './app';
import { embeddedAuthOptions, loadOrCreateSigningKey } from './auth-keys';
import { loadConsoleAssets } from './routes/console-assets';
import { createOrderChanges } from './reads/order-changes';

// In-flight requests get this long to finish before their connections are cut.
const SHUTDOWN_GRACE_MS = 10_000;

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  // Lazy: the API starts while Temporal is still coming up, and /readyz says so until it answers.
  const tracing = startTracing('api', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // Clients built on this connection inherit its plugins: each workflow start, Update and query is traced.
  const connection = Connection.lazy({
    ...config.temporal.connectionOptions,
    plugins: tracing ? [tracing.plugin] : [],
    // gRPC's own reconnect backoff grows to 120 s: capped like every other wait here, so Temporal back is noticed.
    channelArgs: {
      'grpc.initial_reconnect_backoff_ms': WAIT_BACKOFF.firstMs,
      'grpc.max_reconnect_backoff_ms': WAIT_BACKOFF.maxMs,
    },
  });
  const codec = await configuredPayloadCodec(config);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: { payloadCodecs: [codec] },
  });
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX, logger });
  const auth = config.AUTH_JWKS_URL
    ? { keys: new URL(config.AUTH_JWKS_URL), issuer: config.AUTH_ISSUER!, audience: config.AUTH_AUDIENCE! }
    : embeddedAuthOptions(await loadOrCreateSigningKey(config.AUTH_KEY_FILE));
  const changes = createOrderChanges({ db, logger });
  const app = createApp({
    client,
    db,
    logger,
    auth,
    codec: { codec, corsOrigins: config.CODEC_CORS_ORIGIN },
    operatorConsole: {
      assets: await loadConsoleAssets(config.CONSOLE_ASSETS_DIR),
      settings: { temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.temporal.namespace },
    },
    changes,
    config,
  });

  // Express 5 calls this with the error too when the port cannot be bound: the 'error' handler below says that.
  const server = app.listen(config.PORT, (error?: Error) => {
    if (!error) logger.info({ port: config.PORT }, 'api listening');
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'api cannot listen');
    process.exit(1);
  });

  // Both Ctrl-C's SIGINT and a supervisor's SIGTERM may arrive: the first one stops the API, the rest are no news.
  let stopping = false;
  let watch: Watch | undefined;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    watch?.stop();
    logger.info({ signal }, 'api stopping: draining requests');
    try {
      // Open consoles' event streams end now, or the drain would wait them out.
      changes.close();
      await closeServer(server);
      await Promise.all([connection.close(), db.destroy()]);
      await tracing?.shutdown();
      logger.info('api stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'api stopped uncleanly');
      process.exit(1);
    }
  };
  process.on('SIGINT', (signal) => void shutdown(signal));
  process.on('SIGTERM', (signal) => void shutdown(signal));

  const waits = new Waits();
  const waitOptions = { logger, waits, stopping: () => stopping };
  const { namespace } = config.temporal;
  const address = config.temporal.connectionOptions.address ?? config.TEMPORAL_ADDRESS;
  const postgres = postgresDependency(db, config.DATABASE_URL);
  const temporalWithin = (ms: number, call: () => Promise<unknown>) =>
    temporalDependency(address, namespace, () => connection.withDeadline(Date.now() + ms, call));
  Promise.all([
    waitFor(postgres, waitOptions),
    waitFor(
      temporalWithin(10_000, () => client.workflowService.describeNamespace({ namespace })),
      waitOptions,
    ),
  ]).then(
    () => {
      logger.info('api ready: postgres and temporal answer');
      if (stopping) return;
      watch = watchDependencies([postgres, temporalWithin(2_000, () => client.workflowService.getSystemInfo({}))], {
        logger,
        waits,
      });
    },
    (error: unknown) => {
      if (stopping) return;
      if (error instanceof BadConfiguration) {
        logger.fatal(`bad configuration: ${error.message}`);
        process.exit(2);
      }
      logger.fatal({ err: error }, 'api failed');
      process.exit(1);
    },
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `api: ${error.message}` : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
