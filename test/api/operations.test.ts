// What operators rely on: readiness that names the failing dependency, and Prometheus metrics.
import express, { type Express } from 'express';
import request from 'supertest';

import { healthRoutes } from '../../src/api/routes/health';
import { readinessSchema } from '../../src/api/schemas/responses';
import { orderStates } from '../../src/domain';
import {
  configWith,
  asOrder,
  createTestApp,
  orderRequest,
  silentLogger,
  startApiStack,
  unreachableDependencies,
  type ApiStack,
} from './harness';

let stack: ApiStack;
let app: Express;

beforeAll(async () => {
  stack = await startApiStack();
  app = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 3600 }));
});

afterAll(async () => {
  await stack?.stop();
});

/** The value of one sample in Prometheus text, e.g. sample(text, 'orders{state="created"}'). */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async (target: Express = app) =>
  (
    await request(target)
      .get('/metrics')
      .expect(200)
      .expect('Content-Type', /text\/plain/)
  ).text;

describe('GET /readyz', () => {
  it('answers 200 when Postgres and Temporal both answer', async () => {
    const response = await request(app).get('/readyz').expect(200);
    expect(readinessSchema.parse(response.body)).toEqual({
      status: 'ready',
      checks: { postgres: 'up', temporal: 'up' },
    });
  });

  it('answers 503 naming postgres when only Postgres is unreachable', async () => {
    const unreachable = await unreachableDependencies();
    try {
      const down = createTestApp({
        client: stack.client,
        db: unreachable.db,
        logger: silentLogger,
        config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
      });
      const response = await request(down).get('/readyz').expect(503);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 503, checks: { postgres: 'down', temporal: 'up' } });
      expect(response.body.detail).toMatch(/postgres/);
      expect(response.body.detail).not.toMatch(/temporal/);
    } finally {
      await unreachable.close();
    }
  });

  it('makes one check for every caller within its share time, however many ask at once or after', async () => {
    let selects = 0;
    const count = (query: { sql: string }) => void (query.sql === 'select 1' && (selects += 1));
    stack.database.db.on('query', count);
    try {
      const health = express().use(
        healthRoutes({
          db: stack.database.db,
          client: stack.client,
          readinessTimeoutMs: 2_000,
          readinessSharedMs: 60_000,
        }),
      );
      await Promise.all(Array.from({ length: 20 }, () => request(health).get('/readyz').expect(200)));
      for (let i = 0; i < 5; i += 1) await request(health).get('/readyz').expect(200);
      expect(selects).toBe(1);
    } finally {
      stack.database.db.off('query', count);
    }
  });
});

describe('GET /metrics', () => {
  it('counts requests by method, route template and status, and times them', async () => {
    await request(app).get('/orders/00000000-0000-4000-8000-000000000000').expect(404);
    await request(app).get('/orders/not-a-uuid').expect(404);
    await request(app).get('/no/such/route').expect(404);
    const metrics = await scrape();
    expect(sample(metrics, 'http_requests_total{method="GET",route="/orders/:id",status="404"}')).toBe(2);
    expect(sample(metrics, 'http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(metrics, 'http_request_duration_seconds_count{method="GET",route="/orders/:id",status="404"}')).toBe(
      2,
    );
  });

  it('reports orders by state as Postgres has them at scrape time', async () => {
    const declined = asOrder(
      await request(app)
        .post('/orders')
        .send(orderRequest({ paymentToken: 'tok_decline' })),
    );
    const approved = asOrder(await request(app).post('/orders').send(orderRequest()));
    await stack.waitForState(app, declined.id, 'cancelled');
    await stack.waitForState(app, approved.id, 'confirmed');
    const counts: { state: string; count: string }[] = await stack.database
      .db('orders.orders')
      .select('state')
      .count({ count: '*' })
      .groupBy('state');
    const metrics = await scrape();
    for (const state of orderStates) {
      const expected = Number(counts.find((row) => row.state === state)?.count ?? 0);
      expect(sample(metrics, `orders{state="${state}"}`)).toBe(expected);
    }
    expect(sample(metrics, 'orders{state="cancelled"}')).toBeGreaterThanOrEqual(1);
  });

  it('still answers while Postgres is down, without the orders gauge', async () => {
    const unreachable = await unreachableDependencies();
    try {
      const down = createTestApp({
        client: stack.client,
        db: unreachable.db,
        logger: silentLogger,
        config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
      });
      const metrics = await scrape(down);
      expect(metrics).toMatch(/^# TYPE http_requests_total counter/m);
      expect(metrics).not.toMatch(/^orders\{/m);
    } finally {
      await unreachable.close();
    }
  });
});
