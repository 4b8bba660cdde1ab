// Entry point of the API process: read config, connect, listen; on SIGINT/SIGTERM drain requests and close.
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config';
import { createDb } from '../db/knex';
import { createLogger } from '../logging';
import { configuredPayloadCodec } from '../payload-codec';
import { startTracing } from '../telemetry';
import { createApp } from './app';
import { embeddedAuthOptions, loadOrCreateSigningKey } from './auth-keys';
import { loadConsoleAssets } from './console-assets';
import { createOrderChanges } from './order-changes';

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
  });
  const codec = await configuredPayloadCodec(config);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: { payloadCodecs: [codec] },
  });
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX });
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
    config: {
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      deliveryDelaySeconds: config.DELIVERY_DELAY_SECONDS,
      cancelDecisionTimeoutMs: config.CANCEL_DECISION_TIMEOUT_MS,
      maxBacklog: config.ORDERS_MAX_BACKLOG,
    },
  });

  const server = app.listen(config.PORT, () => logger.info({ port: config.PORT }, 'api listening'));
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'api cannot listen');
    process.exit(1);
  });

  const shutdown = async (signal: NodeJS.Signals) => {
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
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `api: ${error.message}` : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
