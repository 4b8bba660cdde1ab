// Configuration is read and validated here once; a bad value stops the process with a message naming the variable.
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { join } from 'node:path';
import { z } from 'zod';

const DEFAULT_EMBEDDED_PG_PORT = 5433;

// host:port, the host a name, an IPv4 address or a bracketed IPv6 one.
const temporalAddress = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

const rate = z.coerce.number().min(0).max(1);
const versionPart = z
  .string()
  .min(1)
  .max(108)
  .refine((value) => !value.startsWith('__'), "must not start with '__'");

const perMinute = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

// Not configuration: each is tied to something in this repository, so it changes with that code, not per deployment.
/** How long POST /orders waits for Temporal to persist a start before it looks the order up and answers. */
export const ORDER_START_TIMEOUT_MS = 10_000;
/** How long /readyz gives PostgreSQL and Temporal to answer: below the chart's 3 s probe timeout, so a dependency
 * that hangs is named in a 503 instead of failing the probe unexplained. */
export const READINESS_TIMEOUT_MS = 2_000;
/** One readiness check answers every /readyz within this long of it: callers without a token, however many, cost
 * PostgreSQL and Temporal at most one round trip each per interval. */
export const READINESS_SHARED_MS = 1_000;

/** A comma-separated list of browser origins (`scheme://host[:port]`, nothing after it), as a list. */
const origins = z
  .string()
  .transform((list) => list.split(',').map((origin) => origin.trim()))
  .pipe(
    z
      .array(
        z
          .url({ protocol: /^https?$/ })
          .refine(
            (url) => URL.canParse(url) && new URL(url).origin === url,
            'each must be an origin: scheme://host[:port], no path',
          ),
      )
      .min(1),
  );

const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(DEFAULT_EMBEDDED_PG_PORT),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  DELIVERY_DELAY_SECONDS: z.coerce.number().min(0).max(31_536_000).default(10),
  PAYMENT_APPROVAL_RATE: rate.default(0.8),
  PAYMENT_FAILURE_RATE: rate.default(0),
  PAYMENT_GATEWAY_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Bounds the orders worker's memory instead of the SDK's heap-derived default: ~260 MiB + ~0.25–0.45 MiB per cached
  // order. 250 would keep it under 400 MB; what its evictions cost under a large backlog is not measured yet
  // (bench/README.md, Targets).
  WORKER_WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).default(1000),
  // How long a workflow task waits for the worker that cached its order before any worker may take it (SDK: 10 s).
  // After an orders worker dies this is how long its orders stall; see bench/README.md for the measured effect.
  WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(60).default(3),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  // The orders worker's Worker Deployment Version (both or neither; the worker controller injects both): with them it
  // polls as that version and its orders are PINNED to it; without them it is unversioned (docs/worker-versioning.md).
  // The server's own rules: at most 108 characters each under limit.maxIDLength 255, no '__' prefix, no '.' or ':'
  // in the name (they separate name and build id in version strings).
  TEMPORAL_DEPLOYMENT_NAME: versionPart.regex(/^[^.:]*$/, "must not contain '.' or ':'").optional(),
  TEMPORAL_WORKER_BUILD_ID: versionPart.optional(),
  // A worker's /healthz and /metrics port; unset, each worker uses its own default (orders 9464, payments 9465).
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  // Orders waiting for an orders worker before POST /orders answers 429 (0: no bound). bench/README.md: the default.
  ORDERS_MAX_BACKLOG: z.coerce.number().int().min(0).default(5_000),
  // Tokens: an identity provider's JWKS with its issuer and audience; unset, the embedded default's key file.
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_KEY_FILE: z
    .string()
    .min(1)
    .default(join(__dirname, '..', '.data', 'auth', 'signing-key.json')),
  // Payload encryption keys `id:base64,…` (the first encrypts), else a key file made under .data/ on first use.
  PAYLOAD_KEYS: z.string().min(1).optional(),
  PAYLOAD_KEYS_FILE: z
    .string()
    .min(1)
    .default(join(__dirname, '..', '.data', 'payload-keys.json')),
  // The Web UI's origins (comma-separated), allowed to call the API's codec endpoint from the browser.
  CODEC_CORS_ORIGIN: origins.default(['http://localhost:8233', 'http://127.0.0.1:8233']),
  // Requests per minute and API process: a customer's and an operator's per token subject, without a valid token per
  // address. docs/decisions.md says how each follows from the measured capacity.
  RATE_LIMIT_CUSTOMER_PER_MINUTE: perMinute(300),
  RATE_LIMIT_OPERATOR_PER_MINUTE: perMinute(1_500),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: perMinute(60),
  // How long a cancel waits for the workflow's decision before it is kept as a signal and answered `pending`.
  CANCEL_DECISION_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  // The Temporal Web UI as the operator's browser reaches it: the console links each order to its workflow there.
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:8233'),
  // The console's files built ahead (`npm run build:console`); unset, the API bundles them from src/console/ at start.
  CONSOLE_ASSETS_DIR: z.string().min(1).optional(),
  // OpenTelemetry traces go to this OTLP/HTTP collector (`<url>/v1/traces`); unset, tracing is off.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
});

type RawConfig = z.output<typeof configSchema>;

export interface Config extends Omit<RawConfig, 'DATABASE_URL'> {
  DATABASE_URL: string;
  /** The orders worker's Worker Deployment Version; undefined: an unversioned worker. */
  workerDeploymentVersion?: WorkerDeploymentVersion;
  /** Connection settings as the SDK's environment configuration resolves them (address, namespace, API key, TLS). */
  temporal: Required<ClientConnectConfig>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The embedded PostgreSQL's URL (user and password `postgres`, loopback), for the `orders` database or another. */
export function embeddedDatabaseUrl(port: number, database = 'orders'): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  if (present.RATE_LIMIT_PER_MINUTE) {
    throw new ConfigError(
      'invalid configuration: RATE_LIMIT_PER_MINUTE is no longer read; limits are per role: RATE_LIMIT_CUSTOMER_PER_MINUTE, RATE_LIMIT_OPERATOR_PER_MINUTE, RATE_LIMIT_ANONYMOUS_PER_MINUTE',
    );
  }
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const identityProvider = [config.AUTH_JWKS_URL, config.AUTH_ISSUER, config.AUTH_AUDIENCE];
  if (identityProvider.some(Boolean) && !identityProvider.every(Boolean)) {
    throw new ConfigError('invalid configuration: AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE go together');
  }
  const { TEMPORAL_DEPLOYMENT_NAME: deploymentName, TEMPORAL_WORKER_BUILD_ID: buildId } = config;
  if ((deploymentName === undefined) !== (buildId === undefined)) {
    throw new ConfigError('invalid configuration: TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID go together');
  }
  const temporal = loadClientConnectConfig({ overrideEnvVars: present as Record<string, string> });
  const address = temporal.connectionOptions.address ?? config.TEMPORAL_ADDRESS;
  // Malformed is a bad configuration, stopped here; a well-formed address that does not answer is waited for.
  if (!temporalAddress.test(address)) {
    throw new ConfigError(`invalid configuration: TEMPORAL_ADDRESS: expected host:port, got "${address}"`);
  }
  return {
    ...config,
    DATABASE_URL: config.DATABASE_URL ?? embeddedDatabaseUrl(config.EMBEDDED_PG_PORT),
    workerDeploymentVersion: deploymentName && buildId ? { deploymentName, buildId } : undefined,
    temporal: {
      connectionOptions: {
        ...temporal.connectionOptions,
        address,
      },
      namespace: temporal.namespace ?? config.TEMPORAL_NAMESPACE,
    },
  };
}
