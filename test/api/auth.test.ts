// Who may do what: every /orders route needs a valid Bearer token; a customer sees and changes only its own orders,
// an operator everything; requests are limited per caller.
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { orderListSchema } from '../../src/api/schemas/responses';
import { eventually } from '../../dev/support/poll';
import {
  configWith,
  asCancelAnswer,
  asOrder,
  orderRequest,
  refusedAuthorizations,
  startApiStack,
  tokenFor,
  type ApiStack,
} from './harness';

let stack: ApiStack;
let app: Express;
let alice: string;
let bob: string;
let operator: string;

beforeAll(async () => {
  stack = await startApiStack();
  app = stack.bareApp(configWith({ DELIVERY_DELAY_SECONDS: 3600 }));
  [alice, bob, operator] = await Promise.all([
    tokenFor({ subject: 'c-alice', role: 'customer' }),
    tokenFor({ subject: 'c-bob', role: 'customer' }),
    tokenFor({ subject: 'ops-1', role: 'operator' }),
  ]);
});

afterAll(async () => {
  await stack?.stop();
});

const as = (token: string) => ({ Authorization: `Bearer ${token}` });
describe('authentication', () => {
  it('refuses every bad token with 401 problem+json and WWW-Authenticate: Bearer, creating nothing', async () => {
    const customerId = `c-refused-${randomUUID()}`;
    for (const [name, header] of await refusedAuthorizations()) {
      const call = request(app).post('/orders').send(orderRequest({ customerId }));
      const response = await (header === undefined ? call : call.set('Authorization', header));
      expect({ name, status: response.status, challenge: response.headers['www-authenticate'] }).toEqual({
        name,
        status: 401,
        challenge: 'Bearer',
      });
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    const [{ n }] = await stack.database.db('orders.orders').where({ customer_id: customerId }).count({ n: '*' });
    expect(Number(n)).toBe(0);
    expect((await stack.client.workflow.count(`CustomerId = '${customerId}'`)).count).toBe(0);
  });

  it('guards every /orders route and leaves health, readiness, metrics and the OpenAPI document open', async () => {
    const id = randomUUID();
    for (const call of [
      request(app).get('/orders'),
      request(app).get(`/orders/${id}`),
      request(app).get(`/orders/${id}/status`),
      request(app).post(`/orders/${id}/cancel`),
    ]) {
      expect((await call).status).toBe(401);
    }
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect((await request(app).get(path)).status).toBe(200);
    }
  });
});

describe('authorization', () => {
  it("creates a customer's order for that customer, customerId optional, and refuses another customer's with 403", async () => {
    const body = orderRequest();
    delete body.customerId;
    const created = asOrder(await request(app).post('/orders').set(as(alice)).send(body).expect(201));
    expect(created.customerId).toBe('c-alice');
    await request(app)
      .post('/orders')
      .set(as(alice))
      .send(orderRequest({ customerId: 'c-bob' }))
      .expect(403);
  });

  it("answers 404 for another customer's order, as for an unknown one, on every route", async () => {
    const { id } = asOrder(
      await request(app)
        .post('/orders')
        .set(as(bob))
        .send(orderRequest({ customerId: 'c-bob' }))
        .expect(201),
    );
    await request(app).get(`/orders/${id}`).set(as(alice)).expect(404);
    await request(app).get(`/orders/${id}/status`).set(as(alice)).expect(404);
    await request(app).post(`/orders/${id}/cancel`).set(as(alice)).expect(404);
    await request(app).get(`/orders/${id}`).set(as(bob)).expect(200);
    await request(app).get(`/orders/${id}`).set(as(operator)).expect(200);
  });

  it("lists only a customer's own orders, and refuses a filter naming another customer with 403", async () => {
    const [aliceOrder, bobOrder] = await Promise.all([
      request(app)
        .post('/orders')
        .set(as(alice))
        .send(orderRequest({ customerId: 'c-alice' }))
        .expect(201),
      request(app)
        .post('/orders')
        .set(as(bob))
        .send(orderRequest({ customerId: 'c-bob' }))
        .expect(201),
    ]);
    const listed = await eventually('both orders recorded', async () => {
      const page = orderListSchema.parse((await request(app).get('/orders?limit=100').set(as(operator))).body);
      const ids = page.items.map((order) => order.id);
      return ids.includes(aliceOrder.body.id) && ids.includes(bobOrder.body.id) ? page : undefined;
    });
    expect(listed.items.length).toBeGreaterThanOrEqual(2);
    const own = orderListSchema.parse((await request(app).get('/orders?limit=100').set(as(alice)).expect(200)).body);
    expect(own.items.map((order) => order.customerId)).toEqual(own.items.map(() => 'c-alice'));
    await request(app).get('/orders?customerId=c-bob').set(as(alice)).expect(403);
    await request(app).get('/orders?customerId=c-alice').set(as(alice)).expect(200);
  });

  it('records who cancelled with the cancel, in order_events and in the history the API shows', async () => {
    const { id } = asOrder(
      await request(app)
        .post('/orders')
        .set(as(alice))
        .send(orderRequest({ customerId: 'c-alice' }))
        .expect(201),
    );
    await stack.waitForState(stack.app(configWith({ DELIVERY_DELAY_SECONDS: 3600 })), id, 'confirmed');
    const answer = asCancelAnswer(await request(app).post(`/orders/${id}/cancel`).set(as(alice)).expect(202));
    expect(answer.history.at(-1)).toMatchObject({ state: 'cancelled', by: 'c-alice' });
    const [event] = await stack.database
      .db('orders.order_events')
      .where({ order_id: id, to_state: 'cancelled' })
      .select('requested_by');
    expect(event).toEqual({ requested_by: 'c-alice' });
  });
});
