// The API tier's world: a Temporal dev server, both real workers, a fresh Postgres database, and apps on top.
import { createMockGateway } from '../../src/activities/gateway';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import express, { type Express } from 'express';
import request from 'supertest';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { createApp, type AppConfig, type AppDeps } from '../../src/api/app';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  embeddedAuthOptions,
  signToken,
  type SigningKey,
  type TokenClaims,
} from '../../src/api/auth-keys';
import { cancelAnswerSchema, orderSchema } from '../../src/api/schemas/responses';
import { embeddedDatabaseUrl, loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/knex';
import type { OrderActivities, OrderState, OrderView } from '../../src/domain';
import { createOrderActivities } from '../../src/activities/orders';
import { createLogger } from '../../src/logging';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../../dev/support/poll';
import { freePort } from '../../dev/tools/net';
import { createDevServerEnv } from '../support/temporal-env';
import { createOrdersWorker, ordersWorkerSettings } from '../../src/workers/orders/worker';
import { createPaymentsWorker } from '../../src/workers/payments/worker';

export const silentLogger = createLogger('api-test', 'silent');

/** A logger as every process makes it, writing each JSON line into `lines`. */
export function capturingLogger(lines: string[]) {
  return createLogger('api', 'info', { write: (line: string) => void lines.push(line) });
}

// The API tier's own token signing key, made at load: tests mint tokens with it and the apps verify against it.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (key: KeyObject, kid: string) => ({ ...(key.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256' });
export const testSigningKey: SigningKey = {
  kid: 'api-tier',
  privateJwk: jwk(privateKey, 'api-tier'),
  publicJwk: jwk(publicKey, 'api-tier'),
};
export const testAuth = embeddedAuthOptions(testSigningKey);
export const tokenFor = (claims: TokenClaims) => signToken(testSigningKey, claims);
const operatorToken = tokenFor({ subject: 'api-tier-operator', role: 'operator' });

const ourKey = () => ({ kid: testSigningKey.kid, alg: 'ES256' });

/** A token with the tier's claims, signed as `sign` says. */
async function craft(sign: (jwt: SignJWT) => Promise<string>, claims: Record<string, unknown> = {}) {
  return sign(
    new SignJWT({ ...claims })
      .setSubject('c-alice')
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(EMBEDDED_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h'),
  );
}

/** Authorization headers the API must refuse with 401, each named (undefined: no header at all). */
export async function refusedAuthorizations(): Promise<[string, string | undefined][]> {
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const key = await importJWK(testSigningKey.privateJwk, 'ES256');
  const publicJwk = JSON.stringify(testSigningKey.publicJwk as JWK);
  const unsecured = new UnsecuredJWT({})
    .setSubject('c-alice')
    .setIssuer(EMBEDDED_ISSUER)
    .setAudience(EMBEDDED_AUDIENCE)
    .setExpirationTime('1h')
    .encode();
  return [
    ['no token', undefined],
    ['a malformed header', 'Token abc'],
    ['a malformed token', 'Bearer not.a.jwt'],
    ['alg none', `Bearer ${unsecured}`],
    [
      'HS256 signed with the public key (HS/RS confusion)',
      `Bearer ${await craft((jwt) => jwt.setProtectedHeader({ alg: 'HS256', kid: testSigningKey.kid }).sign(new TextEncoder().encode(publicJwk)))}`,
    ],
    ['a foreign key', `Bearer ${await craft((jwt) => jwt.setProtectedHeader(ourKey()).sign(foreign))}`],
    [
      'expired',
      `Bearer ${await craft((jwt) =>
        jwt
          .setProtectedHeader(ourKey())
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key),
      )}`,
    ],
    [
      'not yet valid (nbf)',
      `Bearer ${await craft((jwt) => jwt.setProtectedHeader(ourKey()).setNotBefore('10m').sign(key))}`,
    ],
    [
      'a wrong issuer',
      `Bearer ${await craft((jwt) => jwt.setProtectedHeader(ourKey()).setIssuer('someone').sign(key))}`,
    ],
    [
      'a wrong audience',
      `Bearer ${await craft((jwt) => jwt.setProtectedHeader(ourKey()).setAudience('another-api').sign(key))}`,
    ],
    [
      'an oversized token',
      `Bearer ${await craft((jwt) => jwt.setProtectedHeader(ourKey()).sign(key), { pad: 'x'.repeat(9_000) })}`,
    ],
  ];
}

/** The product's configuration, every default as src/config.ts has it, with a test's changes. */
export const configWith = (changes: Partial<AppConfig>): AppConfig => ({ ...loadConfig({}), ...changes });

/** The app on the tier's key; a request without an Authorization header is an operator's. */
export function createTestApp(deps: Omit<AppDeps, 'auth'>): Express {
  const app = createApp({ ...deps, auth: testAuth });
  const outer = express();
  outer.use(async (req, _res, next) => {
    req.headers.authorization ??= `Bearer ${await operatorToken}`;
    next();
  });
  outer.use(app);
  return outer;
}

/** A valid create request; `tok_approve` makes the mock gateway confirm every time. */
export function orderRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerId: 'c-42',
    items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
    currency: 'MYR',
    paymentToken: 'tok_approve',
    ...overrides,
  };
}

/** The body of a response, checked against the documented order schema. */
export function asOrder(response: request.Response): OrderView {
  return orderSchema.parse(response.body);
}

/** The body of a cancel's answer: the order and `cancellation.status`. */
export function asCancelAnswer(response: request.Response) {
  return cancelAnswerSchema.parse(response.body);
}

/** Undoes what was set up, newest first; every step runs even when an earlier one fails. */
class Cleanup {
  private readonly steps: (() => Promise<unknown>)[] = [];

  add(step: () => Promise<unknown>): void {
    this.steps.unshift(step);
  }

  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.steps.splice(0)) {
      await step().catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
  }
}

export interface ApiStack {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  client: Client;
  /** An app on this stack, operator by default; orders it creates are delivered `deliveryDelaySeconds` after confirmation. */
  app(config: AppConfig): Express;
  /** The same app, with no default caller: every request brings its own token, or none. */
  bareApp(config: AppConfig): Express;
  /** Starts an orders worker (a stack made without one, or a second one), its order writes optionally wrapped. */
  startOrdersWorker(wrap?: (activities: OrderActivities) => OrderActivities): Promise<void>;
  /** Polls GET /orders/:id until the order is in `state`. */
  waitForState(app: Express, id: string, state: OrderState): Promise<OrderView>;
  stop(): Promise<void>;
}

export async function startApiStack({ gatewayDelayMs = 0, ordersWorker = true } = {}): Promise<ApiStack> {
  const cleanup = new Cleanup();
  try {
    const database = await createTestDatabase();
    cleanup.add(() => database.drop());
    const env = await createDevServerEnv();
    cleanup.add(() => env.teardown());
    const deps = { connection: env.nativeConnection, namespace: env.namespace ?? 'default', db: database.db };
    const run = (worker: Worker) => {
      const running = worker.run();
      cleanup.add(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      });
    };
    const startOrdersWorker = async (wrap = (activities: OrderActivities) => activities) => {
      // Tuned as the product's, on the test server's namespace.
      const settings = { ...ordersWorkerSettings(loadConfig({})), ...deps };
      run(await createOrdersWorker({ ...settings, activities: wrap(createOrderActivities({ db: database.db })) }));
    };
    run(
      await createPaymentsWorker({
        ...deps,
        gateway: createMockGateway({ approvalRate: 0.5, failureRate: 0, delayMs: gatewayDelayMs }),
      }),
    );
    if (ordersWorker) await startOrdersWorker();
    const client = env.client;
    return {
      env,
      database,
      client,
      app: (config) => createTestApp({ client, db: database.db, config, logger: silentLogger }),
      bareApp: (config) => createApp({ client, db: database.db, config, logger: silentLogger, auth: testAuth }),
      startOrdersWorker,
      waitForState: (app, id, state) =>
        eventually(
          `order ${id} to be ${state}`,
          async () => {
            const order = asOrder(await request(app).get(`/orders/${id}`).expect(200));
            return order.state === state ? order : undefined;
          },
          { timeoutMs: 30_000 },
        ),
      stop: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run().catch(() => undefined);
    throw error;
  }
}

/** Nothing listens on the port it points at, so every call fails the way an outage does. */
export interface Unreachable {
  client: Client;
  db: Db;
  close(): Promise<void>;
}

export async function unreachableDependencies(): Promise<Unreachable> {
  const [temporalPort, postgresPort] = await Promise.all([freePort(), freePort()]);
  // No gRPC retries: each call fails at once, and no SDK retry timer (they ignore deadlines) outlives the connection.
  const connection = Connection.lazy({ address: `127.0.0.1:${temporalPort}`, interceptors: [] });
  const db = createDb({ url: embeddedDatabaseUrl(postgresPort) });
  return {
    client: new Client({ connection }),
    db,
    close: async () => {
      await Promise.all([connection.close(), db.destroy()]);
    },
  };
}
