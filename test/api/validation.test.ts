// Requests refused before Temporal is involved, and how the API behaves when Temporal cannot be reached at all.
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createOrderActivities } from '../../src/activities/orders';

import { createTestDatabase, type TestDatabase } from '../support/database';
import { newOrderRecord } from '../support/orders';
import {
  configWith,
  createTestApp,
  orderRequest,
  silentLogger,
  unreachableDependencies,
  type Unreachable,
} from './harness';

let database: TestDatabase;
let unreachable: Unreachable;
/** Real Postgres; a Temporal address nobody listens on. */
let app: Express;

beforeAll(async () => {
  database = await createTestDatabase();
  unreachable = await unreachableDependencies();
  app = createTestApp({
    client: unreachable.client,
    db: database.db,
    logger: silentLogger,
    config: configWith({ DELIVERY_DELAY_SECONDS: 1, CANCEL_DECISION_TIMEOUT_MS: 1_000 }),
  });
});

afterAll(async () => {
  await unreachable?.close();
  await database?.drop();
});

const createOrder = (body: unknown) =>
  request(app)
    .post('/orders')
    .send(body as object);

function expectProblem(response: request.Response, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status });
  expect(response.body.detail).toEqual(expect.any(String));
  expect(JSON.stringify(response.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

describe('create request validation', () => {
  it.each([
    ['customerId missing', { customerId: undefined }, 'customerId'],
    ['customerId empty', { customerId: '' }, 'customerId'],
    ['customerId over 64 characters', { customerId: 'c'.repeat(65) }, 'customerId'],
    ['customerId not a string', { customerId: 42 }, 'customerId'],
    // PostgreSQL's text holds no NUL: accepted, the order's first write would fail on every retry.
    ['customerId with a NUL', { customerId: 'c\u0000' }, 'customerId'],
    ['items missing', { items: undefined }, 'items'],
    ['items empty', { items: [] }, 'items'],
    ['over 100 items', { items: Array(101).fill({ sku: 'A', quantity: 1, unitPrice: 1 }) }, 'items'],
    ['sku empty', { items: [{ sku: '', quantity: 1, unitPrice: 1 }] }, 'items.0.sku'],
    ['sku over 64 characters', { items: [{ sku: 's'.repeat(65), quantity: 1, unitPrice: 1 }] }, 'items.0.sku'],
    ['sku with a NUL', { items: [{ sku: 'A\u0000', quantity: 1, unitPrice: 1 }] }, 'items.0.sku'],
    ['quantity 0', { items: [{ sku: 'A', quantity: 0, unitPrice: 1 }] }, 'items.0.quantity'],
    ['quantity over 1000', { items: [{ sku: 'A', quantity: 1001, unitPrice: 1 }] }, 'items.0.quantity'],
    ['quantity fractional', { items: [{ sku: 'A', quantity: 1.5, unitPrice: 1 }] }, 'items.0.quantity'],
    ['quantity a string', { items: [{ sku: 'A', quantity: '2', unitPrice: 1 }] }, 'items.0.quantity'],
    ['unitPrice negative', { items: [{ sku: 'A', quantity: 1, unitPrice: -1 }] }, 'items.0.unitPrice'],
    ['unitPrice fractional', { items: [{ sku: 'A', quantity: 1, unitPrice: 10.5 }] }, 'items.0.unitPrice'],
    ['an unknown item field', { items: [{ sku: 'A', quantity: 1, unitPrice: 1, colour: 'red' }] }, 'items.0.colour'],
    ['currency lower case', { currency: 'myr' }, 'currency'],
    ['currency of four letters', { currency: 'MYRR' }, 'currency'],
    ['paymentToken without tok_', { paymentToken: 'visa' }, 'paymentToken'],
    ['paymentToken with nothing after tok_', { paymentToken: 'tok_' }, 'paymentToken'],
    ['paymentToken over 60 characters after tok_', { paymentToken: `tok_${'a'.repeat(61)}` }, 'paymentToken'],
    ['paymentToken with a dash', { paymentToken: 'tok_a-b' }, 'paymentToken'],
    ['an unknown field', { discount: 5 }, 'discount'],
  ])('answers 400 naming the field for %s', async (_, overrides, path) => {
    const response = await createOrder(orderRequest(overrides));
    expectProblem(response, 400);
    expect(response.body.errors).toEqual([{ path, message: expect.any(String) }]);
  });

  it('answers one errors entry per problem', async () => {
    const response = await createOrder({ customerId: '', items: [{ sku: '', quantity: 0 }], currency: 'x', extra: 1 });
    expectProblem(response, 400);
    expect(response.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(
      ['currency', 'customerId', 'extra', 'items.0.quantity', 'items.0.sku', 'items.0.unitPrice'].sort(),
    );
  });

  it.each([
    ['malformed JSON', '{"customerId": "c-1", items: ['],
    ['a JSON string instead of an object', '"an order"'],
    ['a JSON array instead of an object', '[]'],
    ['an empty body', ''],
  ])('answers 400 problem for %s', async (_, body) => {
    expectProblem(await request(app).post('/orders').set('Content-Type', 'application/json').send(body), 400);
  });

  it('answers 413 problem for a body over 64 kB, and judges a body just under it on its content', async () => {
    expectProblem(await createOrder(orderRequest({ note: 'x'.repeat(65 * 1024) })), 413);
    const under = await createOrder(orderRequest({ note: 'x'.repeat(60 * 1024) }));
    expectProblem(under, 400);
    expect(under.body.errors).toEqual([{ path: 'note', message: expect.any(String) }]);
  });

  it.each([
    ['text/plain', 'text/plain', 'customerId=c-1'],
    ['a form', 'application/x-www-form-urlencoded', 'customerId=c-1'],
    ['XML', 'application/xml', '<order/>'],
  ])('answers 415 problem for a %s body', async (_, contentType, body) => {
    expectProblem(await request(app).post('/orders').set('Content-Type', contentType).send(body), 415);
  });

  it('answers 415 problem for a create without a body', async () => {
    expectProblem(await request(app).post('/orders'), 415);
  });

  it('accepts JSON declared with a charset or a +json media type as far as validation', async () => {
    const body = JSON.stringify({ customerId: '' });
    for (const contentType of ['application/json; charset=utf-8', 'application/vnd.order+json']) {
      const response = await request(app).post('/orders').set('Content-Type', contentType).send(body);
      expectProblem(response, 400);
    }
  });
});

describe('any route', () => {
  it.each([
    ['GET', '/nowhere'],
    ['GET', '/orders/%zz'],
  ])('answers 404 problem for %s %s', async (method, path) => {
    expectProblem(await request(app)[method.toLowerCase() as 'get'](path), 404);
  });

  it.each([
    ['TRACE', '/orders', 'POST, GET, HEAD'],
    ['DELETE', '/orders', 'POST, GET, HEAD'],
    ['PUT', `/orders/${randomUUID()}`, 'GET, HEAD'],
    ['GET', `/orders/${randomUUID()}/cancel`, 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
  ])('answers 405 problem with Allow for %s %s', async (method, path, allow) => {
    const response = await request(app)[method.toLowerCase() as 'get'](path);
    expectProblem(response, 405);
    expect(response.headers.allow).toBe(allow);
  });

  it('answers OPTIONS on a known path with the methods it serves', async () => {
    const response = await request(app).options('/orders').expect(200);
    expect(response.headers.allow?.split(/, ?/).sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('sets security headers and hides the framework', async () => {
    const response = await request(app).get('/healthz').expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('echoes an incoming X-Request-Id, and makes one up when it is missing or unfit for logs', async () => {
    expect((await request(app).get('/healthz').set('X-Request-Id', 'req-123')).headers['x-request-id']).toBe('req-123');
    expect((await request(app).get('/healthz')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await request(app).get('/healthz').set('X-Request-Id', 'a b\tc');
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 200 on /healthz while Temporal is unreachable', async () => {
    expect((await request(app).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
  });
});

describe('when Temporal is unreachable', () => {
  it('answers 503 problem to a create, with Retry-After', async () => {
    const response = await createOrder(orderRequest());
    expectProblem(response, 503);
    expect(response.headers['retry-after']).toBeDefined();
  });

  it('answers 503 problem to a cancel of an order that is still open', async () => {
    const id = randomUUID();
    await createOrderActivities({ db: database.db }).recordOrderCreated(newOrderRecord(id));
    expectProblem(await request(app).post(`/orders/${id}/cancel`), 503);
  });

  it('answers 503 on /readyz naming temporal only', async () => {
    const response = await request(app).get('/readyz');
    expectProblem(response, 503);
    expect(response.body.checks).toEqual({ postgres: 'up', temporal: 'down' });
    expect(response.body.detail).toMatch(/temporal/);
    expect(response.body.detail).not.toMatch(/postgres/);
  });

  it('answers 503 problem to reads when Postgres is unreachable too', async () => {
    const down = createTestApp({
      client: unreachable.client,
      db: unreachable.db,
      logger: silentLogger,
      config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
    });
    for (const path of ['/orders', `/orders/${randomUUID()}`, `/orders/${randomUUID()}/status`]) {
      const response = await request(down).get(path);
      expectProblem(response, 503);
      expect(response.body.detail).toMatch(/postgres/);
    }
  });

  it('answers 503 on /readyz naming both, and why, when Postgres is unreachable too', async () => {
    const down = createTestApp({
      client: unreachable.client,
      db: unreachable.db,
      logger: silentLogger,
      config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
    });
    const response = await request(down).get('/readyz');
    expectProblem(response, 503);
    expect(response.body.checks).toEqual({ postgres: 'down', temporal: 'down' });
    expect(response.body.detail).toBe(
      'not ready: postgres not answering (connection refused) and temporal not answering (connection refused)',
    );
  });
});
