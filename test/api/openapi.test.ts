// Keeps /openapi.json true: every documented route and status is exercised, and answers as documented.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';

import { CURSOR_PATTERN } from '../../src/api/reads/cursor';
import { responseSchemas } from '../../src/api/schemas/openapi';
import {
  configWith,
  asOrder,
  createTestApp,
  tokenFor,
  orderRequest,
  silentLogger,
  startApiStack,
  unreachableDependencies,
} from './harness';
import type { ApiStack, Unreachable } from './harness';

interface MediaType {
  schema?: { $ref?: string };
}
interface DocumentedResponse {
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
}
interface Operation {
  parameters?: { name: string; in: string }[];
  responses: Record<string, DocumentedResponse>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let stack: ApiStack;
let unreachable: Unreachable;
let app: Express;
let temporalDown: Express;
let everythingDown: Express;
/** At its backlog bound after one create: the orders this app started count until Temporal's figure is read again. */
let backlogged: Express;
/** No default caller: a request without a token is refused. */
let bare: Express;
/** One request per caller per minute, already spent by the operator. */
let limited: Express;
let customerToken: string;
let document: OpenApiDocument;
const orders = { confirmed: '', confirmedForOutage: '', cancelled: '', delivered: '' };
const conflictKey = randomUUID();

async function createOrder(target: Express, overrides: Record<string, unknown> = {}): Promise<string> {
  return asOrder(await request(target).post('/orders').send(orderRequest(overrides)).expect(201)).id;
}

beforeAll(async () => {
  stack = await startApiStack();
  unreachable = await unreachableDependencies();
  app = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 3600 }));
  const quick = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1 }));
  const config = configWith({ DELIVERY_DELAY_SECONDS: 1 });
  temporalDown = createTestApp({ client: unreachable.client, db: stack.database.db, logger: silentLogger, config });
  everythingDown = createTestApp({ client: unreachable.client, db: unreachable.db, logger: silentLogger, config });
  document = (await request(app).get('/openapi.json').expect(200)).body;
  backlogged = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1, ORDERS_MAX_BACKLOG: 1 }));
  bare = stack.bareApp(configWith({ DELIVERY_DELAY_SECONDS: 1 }));
  limited = stack.app(
    configWith({
      DELIVERY_DELAY_SECONDS: 1,
      RATE_LIMIT_CUSTOMER_PER_MINUTE: 1,
      RATE_LIMIT_OPERATOR_PER_MINUTE: 1,
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: 1,
    }),
  );
  await request(limited).get('/orders').expect(200);
  customerToken = await tokenFor({ subject: 'c-42', role: 'customer' });
  await request(backlogged).post('/orders').send(orderRequest()).expect(201);

  [orders.confirmed, orders.confirmedForOutage, orders.cancelled, orders.delivered] = await Promise.all([
    createOrder(app),
    createOrder(app),
    createOrder(app, { paymentToken: 'tok_decline' }),
    createOrder(quick),
  ]);
  await request(app).post('/orders').set('Idempotency-Key', conflictKey).send(orderRequest()).expect(201);
  await Promise.all([
    stack.waitForState(app, orders.confirmed, 'confirmed'),
    stack.waitForState(app, orders.confirmedForOutage, 'confirmed'),
    stack.waitForState(app, orders.cancelled, 'cancelled'),
    stack.waitForState(app, orders.delivered, 'delivered'),
  ]);
});

afterAll(async () => {
  await unreachable?.close();
  await stack?.stop();
});

/** An event stream never ends: its answer is taken with the first event, and the connection closed. */
const firstEvent = (test: request.Test) =>
  test.buffer(true).parse((res, done) => {
    const stream = res as unknown as IncomingMessage;
    stream.setEncoding('utf8');
    stream.once('data', (chunk: string) => {
      done(null, chunk);
      stream.destroy();
    });
  });

type Exercise = [method: string, path: string, status: number, call: () => request.Test];

const exercises: Exercise[] = [
  ['post', '/orders', 201, () => request(app).post('/orders').send(orderRequest())],
  ['post', '/orders', 400, () => request(app).post('/orders').send({ customerId: '' })],
  [
    'post',
    '/orders',
    409,
    () =>
      request(app)
        .post('/orders')
        .set('Idempotency-Key', conflictKey)
        .send(orderRequest({ customerId: 'other' })),
  ],
  [
    'post',
    '/orders',
    413,
    () =>
      request(app)
        .post('/orders')
        .send({ padding: 'x'.repeat(70_000) }),
  ],
  ['post', '/orders', 415, () => request(app).post('/orders').set('Content-Type', 'text/plain').send('order')],
  ['post', '/orders', 401, () => request(bare).post('/orders').send(orderRequest())],
  [
    'post',
    '/orders',
    403,
    () =>
      request(app)
        .post('/orders')
        .set('Authorization', `Bearer ${customerToken}`)
        .send(orderRequest({ customerId: 'someone-else' })),
  ],
  ['post', '/orders', 429, () => request(backlogged).post('/orders').send(orderRequest())],
  ['post', '/orders', 503, () => request(temporalDown).post('/orders').send(orderRequest())],
  ['get', '/orders', 200, () => request(app).get('/orders?limit=2')],
  ['get', '/orders', 400, () => request(app).get('/orders?limit=0')],
  ['get', '/orders', 401, () => request(bare).get('/orders')],
  [
    'get',
    '/orders',
    403,
    () => request(app).get('/orders?customerId=someone-else').set('Authorization', `Bearer ${customerToken}`),
  ],
  ['get', '/orders', 429, () => request(limited).get('/orders')],
  ['get', '/orders', 503, () => request(everythingDown).get('/orders')],
  ['get', '/orders/summary', 200, () => request(app).get('/orders/summary')],
  ['get', '/orders/summary', 401, () => request(bare).get('/orders/summary')],
  [
    'get',
    '/orders/summary',
    403,
    () => request(app).get('/orders/summary').set('Authorization', `Bearer ${customerToken}`),
  ],
  ['get', '/orders/summary', 429, () => request(limited).get('/orders/summary')],
  ['get', '/orders/summary', 503, () => request(everythingDown).get('/orders/summary')],
  ['get', '/orders/changes', 200, () => firstEvent(request(app).get('/orders/changes'))],
  ['get', '/orders/changes', 401, () => request(bare).get('/orders/changes')],
  [
    'get',
    '/orders/changes',
    403,
    () => request(app).get('/orders/changes').set('Authorization', `Bearer ${customerToken}`),
  ],
  ['get', '/orders/changes', 429, () => request(limited).get('/orders/changes')],
  ['get', '/orders/{id}', 200, () => request(app).get(`/orders/${orders.confirmed}`)],
  ['get', '/orders/{id}', 401, () => request(bare).get(`/orders/${orders.confirmed}`)],
  ['get', '/orders/{id}', 404, () => request(app).get(`/orders/${randomUUID()}`)],
  ['get', '/orders/{id}', 429, () => request(limited).get(`/orders/${orders.confirmed}`)],
  ['get', '/orders/{id}', 503, () => request(everythingDown).get(`/orders/${orders.confirmed}`)],
  ['get', '/orders/{id}/status', 200, () => request(app).get(`/orders/${orders.confirmed}/status`)],
  ['get', '/orders/{id}/status', 401, () => request(bare).get(`/orders/${orders.confirmed}/status`)],
  ['get', '/orders/{id}/status', 404, () => request(app).get('/orders/nope/status')],
  ['get', '/orders/{id}/status', 429, () => request(limited).get(`/orders/${orders.confirmed}/status`)],
  ['get', '/orders/{id}/status', 503, () => request(everythingDown).get(`/orders/${orders.confirmed}/status`)],
  ['post', '/orders/{id}/cancel', 202, () => request(app).post(`/orders/${orders.confirmed}/cancel`)],
  ['post', '/orders/{id}/cancel', 200, () => request(app).post(`/orders/${orders.cancelled}/cancel`)],
  ['post', '/orders/{id}/cancel', 400, () => request(app).post(`/orders/${orders.cancelled}/cancel`).send({ x: 1 })],
  ['post', '/orders/{id}/cancel', 401, () => request(bare).post(`/orders/${orders.cancelled}/cancel`)],
  ['post', '/orders/{id}/cancel', 404, () => request(app).post(`/orders/${randomUUID()}/cancel`)],
  ['post', '/orders/{id}/cancel', 429, () => request(limited).post(`/orders/${orders.cancelled}/cancel`)],
  ['post', '/orders/{id}/cancel', 409, () => request(app).post(`/orders/${orders.delivered}/cancel`)],
  [
    'post',
    '/orders/{id}/cancel',
    415,
    () => request(app).post(`/orders/${orders.cancelled}/cancel`).set('Content-Type', 'text/plain').send('now'),
  ],
  ['post', '/orders/{id}/cancel', 503, () => request(temporalDown).post(`/orders/${orders.confirmedForOutage}/cancel`)],
  ['get', '/healthz', 200, () => request(app).get('/healthz')],
  ['get', '/readyz', 200, () => request(app).get('/readyz')],
  ['get', '/readyz', 503, () => request(everythingDown).get('/readyz')],
  ['get', '/metrics', 200, () => request(app).get('/metrics')],
  ['get', '/openapi.json', 200, () => request(app).get('/openapi.json')],
];

const key = (method: string, path: string, status: number | string) => `${method.toUpperCase()} ${path} ${status}`;

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document whose references all resolve and whose path parameters are declared', () => {
    expect(document.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(document.components.schemas).toHaveProperty([name]);
    for (const [path, operations] of Object.entries(document.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const operation of Object.values(operations)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort()).toEqual(templated.sort());
      }
    }
  });

  it('documents exactly the routes and statuses this test exercises', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.keys(operation.responses).map((status) => key(method, path, status)),
      ),
    );
    expect(documented.sort()).toEqual(exercises.map(([method, path, status]) => key(method, path, status)).sort());
  });

  it('says what a cursor looks like', () => {
    const cursor = document.paths['/orders'].get.parameters?.find((parameter) => parameter.name === 'cursor') as
      { schema: { description?: string; pattern?: string } } | undefined;
    expect(cursor?.schema.description).toMatch(/nextCursor/);
    expect(cursor?.schema.pattern).toBe(CURSOR_PATTERN.source);
  });

  it.each(exercises)('%s %s answers %i as documented', async (method, path, status, call) => {
    const response = await call();
    expect(response.status).toBe(status);
    const documented = document.paths[path][method].responses[String(status)];
    const contentType = String(response.headers['content-type']).split(';')[0];
    expect(Object.keys(documented.content ?? {})).toContain(contentType);
    const ref = documented.content?.[contentType]?.schema?.$ref;
    if (ref) {
      const name = ref.replace('#/components/schemas/', '') as keyof typeof responseSchemas;
      expect(responseSchemas[name].safeParse(response.body).error).toBeUndefined();
    }
    for (const header of Object.keys(documented.headers ?? {}).filter((h) => h !== 'Idempotent-Replayed')) {
      expect(response.headers[header.toLowerCase()]).toBeDefined();
    }
  });
});
