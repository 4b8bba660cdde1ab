// The express app: cross-cutting middleware, then the routes, then problem+json for everything that went wrong.
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Db } from '../db/knex';
import type { Logger } from '../logging';
import { createAuthenticator, type AuthOptions } from './auth';
import { createBacklog } from './backlog';
import { DEFAULT_RATE_LIMITS } from '../config';
import { callerRateLimit, type RateLimits } from './rate-limit';
import { cancelOrderCommand } from './cancel-order';
import { createOrderCommand } from './create-order';
import { parseJsonBody } from './json-body';
import type { ConsoleAssets } from './console-assets';
import { createMetrics } from './metrics';
import { createOrderChanges, type OrderChanges } from './order-changes';
import { createOrderLookup } from './order-lookup';
import { createOrderReads } from './order-reads';
import { createOrderSummary } from './order-summary';
import { methodNotAllowed, problemHandler, unknownRoute } from './problem';
import { requestLogging } from './request-logging';
import { codecRoutes } from './routes/codec';
import { consoleRoutes, type ConsoleSettings } from './routes/console';
import { healthRoutes } from './routes/health';
import { orderOverviewRoutes } from './routes/order-overview';
import { orderRoutes } from './routes/orders';
import { openApiDocument } from './schemas/openapi';

export interface AppConfig {
  /** Given to every new order's workflow, which keeps it for its whole life. */
  deliveryDelaySeconds: number;
  /** How long POST /orders waits for Temporal to persist the start before looking the order up. */
  startTimeoutMs?: number;
  /** How long a cancel waits for a worker's decision before it is kept as a signal and answered `pending`. */
  cancelDecisionTimeoutMs?: number;
  /** Orders that may wait for an orders worker before creates are refused with 429; 0 turns the bound off. */
  maxBacklog?: number;
  /** Requests per caller and minute before 429, by role (default: the product's defaults). */
  rateLimits?: RateLimits;
  readinessTimeoutMs?: number;
}

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
  const rateLimit = callerRateLimit(config.rateLimits ?? DEFAULT_RATE_LIMITS);
  app.use(requestLogging(logger), helmet(), metrics.recordRequests);
  // Before the 64 kB JSON limit: a history's payloads can be larger.
  if (codec) app.use(codecRoutes({ ...codec, authenticator, rateLimit }));
  if (operatorConsole) app.use(consoleRoutes(operatorConsole));
  app.use(parseJsonBody);

  app.use(healthRoutes({ db, client, readinessTimeoutMs: config.readinessTimeoutMs ?? 2_000 }));
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
        backlog: createBacklog({ client, maxBacklog: config.maxBacklog ?? 0 }),
        deliveryDelaySeconds: config.deliveryDelaySeconds,
        startTimeoutMs: config.startTimeoutMs ?? 10_000,
      }),
      cancelOrder: cancelOrderCommand({
        client,
        lookup,
        decisionTimeoutMs: config.cancelDecisionTimeoutMs ?? 5_000,
      }),
    }),
  );

  app.use(methodNotAllowed(openApi.paths));
  app.use(unknownRoute);
  app.use(problemHandler(logger));
  return app;
}
