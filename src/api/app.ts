// The express app: cross-cutting middleware, then the routes, then problem+json for everything that went wrong.
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { ORDER_START_TIMEOUT_MS, READINESS_SHARED_MS, READINESS_TIMEOUT_MS, type Config } from '../config';
import type { Db } from '../db/knex';
import type { Logger } from '../logging';
import { createAuthenticator, type AuthOptions } from './http/auth';
import { parseJsonBody } from './http/json-body';
import { createMetrics } from './http/metrics';
import { methodNotAllowed, problemHandler, unknownRoute } from './http/problem';
import { callerRateLimit } from './http/rate-limit';
import { requestLogging } from './http/request-logging';
import { createBacklog } from './commands/backlog';
import { cancelOrderCommand } from './commands/cancel-order';
import { createOrderCommand } from './commands/create-order';
import { createOrderChanges, type OrderChanges } from './reads/order-changes';
import { createOrderLookup } from './reads/order-lookup';
import { createOrderReads } from './reads/order-reads';
import { createOrderSummary } from './reads/order-summary';
import { codecRoutes } from './routes/codec';
import { consoleRoutes, type ConsoleSettings } from './routes/console';
import type { ConsoleAssets } from './routes/console-assets';
import { healthRoutes } from './routes/health';
import { orderOverviewRoutes } from './routes/order-overview';
import { orderRoutes } from './routes/orders';
import { openApiDocument } from './schemas/openapi';

/** What the app reads from the configuration, complete: src/config.ts owns every default. */
export type AppConfig = Pick<
  Config,
  | 'DELIVERY_DELAY_SECONDS'
  | 'CANCEL_DECISION_TIMEOUT_MS'
  | 'ORDERS_MAX_BACKLOG'
  | 'RATE_LIMIT_CUSTOMER_PER_MINUTE'
  | 'RATE_LIMIT_OPERATOR_PER_MINUTE'
  | 'RATE_LIMIT_ANONYMOUS_PER_MINUTE'
>;

export interface AppDeps {
  client: Client;
  db: Db;
  config: AppConfig;
  logger: Logger;
  /** How callers are verified: the identity provider's keys, or the embedded default's. */
  auth: AuthOptions;
  /** The payload codec the Web UI's codec endpoint serves; no endpoint without it. */
  codec?: { codec: PayloadCodec; corsOrigins: string[] };
  /** The operator console's files and settings; no /console without them. */
  operatorConsole?: { assets: ConsoleAssets; settings: ConsoleSettings };
  /** What tells consoles that orders changed; the server closes it at shutdown so no stream holds the drain. */
  changes?: OrderChanges;
}

export function createApp({ client, db, config, logger, auth, codec, operatorConsole, changes }: AppDeps): Express {
  const reads = createOrderReads(db);
  const lookup = createOrderLookup({ reads, client });
  const metrics = createMetrics({ reads, logger });
  const openApi = openApiDocument();

  const app = express();
  app.disable('x-powered-by');
  const authenticator = createAuthenticator(auth);
  // One count per caller for every route that takes a token.
  const rateLimit = callerRateLimit(
    {
      customer: config.RATE_LIMIT_CUSTOMER_PER_MINUTE,
      operator: config.RATE_LIMIT_OPERATOR_PER_MINUTE,
      anonymous: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    },
    logger,
  );
  app.use(requestLogging(logger), helmet(), metrics.recordRequests);
  // Before the 64 kB JSON limit: a history's payloads can be larger.
  if (codec) app.use(codecRoutes({ ...codec, authenticator, rateLimit }));
  if (operatorConsole) app.use(consoleRoutes(operatorConsole));
  app.use(parseJsonBody);

  app.use(
    healthRoutes({ db, client, readinessTimeoutMs: READINESS_TIMEOUT_MS, readinessSharedMs: READINESS_SHARED_MS }),
  );
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.use('/orders', authenticator.identifyCaller(), rateLimit, authenticator.requireCaller);
  app.use(
    orderOverviewRoutes({
      summarize: createOrderSummary({ db, reads }),
      changes: changes ?? createOrderChanges({ db, logger }),
    }),
  );
  app.use(
    orderRoutes({
      reads,
      lookup,
      createOrder: createOrderCommand({
        client,
        reads,
        lookup,
        backlog: createBacklog({ client, maxBacklog: config.ORDERS_MAX_BACKLOG }),
        deliveryDelaySeconds: config.DELIVERY_DELAY_SECONDS,
        startTimeoutMs: ORDER_START_TIMEOUT_MS,
      }),
      cancelOrder: cancelOrderCommand({
        client,
        lookup,
        decisionTimeoutMs: config.CANCEL_DECISION_TIMEOUT_MS,
      }),
    }),
  );

  app.use(methodNotAllowed(openApi.paths));
  app.use(unknownRoute);
  app.use(problemHandler(logger));
  return app;
}
