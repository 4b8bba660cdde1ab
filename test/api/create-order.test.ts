import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createOrderCommand } from '../../src/api/commands/create-order';
import { orderIdForKey } from '../../src/api/commands/idempotency';
import { createOrderReads } from '../../src/api/reads/order-reads';
import { createOrderLookup } from '../../src/api/reads/order-lookup';
import { createBacklog } from '../../src/api/commands/backlog';
import { orderStatusSchema } from '../../src/api/schemas/responses';
import { ORDER_START_TIMEOUT_MS } from '../../src/config';
import { orderWorkflowId } from '../../src/domain';
import { createOrderSchema } from '../../src/api/schemas/order-input';
import { eventually } from '../../dev/support/poll';
import { configWith, asOrder, orderRequest, startApiStack, type ApiStack } from './harness';

let stack: ApiStack;
let app: Express;

beforeAll(async () => {
  stack = await startApiStack();
  app = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1 }));
});

afterAll(async () => {
  await stack?.stop();
});

const create = (body: object, key?: string) => {
  const call = request(app).post('/orders').send(body);
  return key === undefined ? call : call.set('Idempotency-Key', key);
};

const workflowRuns = (orderId: string) => stack.client.workflow.count(`WorkflowId = '${orderWorkflowId(orderId)}'`);

const paymentsFor = (orderId: string) => stack.database.db('payments.payments').where({ order_id: orderId });

describe('POST /orders', () => {
  it('answers 201 with the order in state created, and a Location where it is found at once', async () => {
    const response = await create(orderRequest()).expect(201);
    const order = asOrder(response);
    expect(order).toMatchObject({
      customerId: 'c-42',
      currency: 'MYR',
      amount: 2100,
      state: 'created',
      cancelReason: null,
      payment: { status: 'pending', id: null },
      history: [{ event: 'transition', state: 'created', reason: null }],
    });
    expect(response.headers.location).toBe(`/orders/${order.id}`);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    const found = asOrder(await request(app).get(response.headers.location).expect(200));
    expect(found).toMatchObject({ id: order.id, customerId: 'c-42', amount: 2100, createdAt: order.createdAt });
  });

  it('starts the workflow order-<id> with a one-line summary and the search attributes the Web UI lists by', async () => {
    const order = asOrder(await create(orderRequest({ customerId: 'c-summary' })).expect(201));
    const handle = stack.client.workflow.getHandle(orderWorkflowId(order.id));
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe('c-summary: 2 × [FUEL-95] = 2100 MYR (minor units)');
    const listed = await eventually('the order in the visibility store by customer and state', async () => {
      const count = await stack.client.workflow.count(`CustomerId = 'c-summary' AND OrderState = 'delivered'`);
      return count.count === 1 ? count : undefined;
    });
    expect(listed.count).toBe(1);
  });

  it('applies the defaults: currency MYR and payment token tok_default', async () => {
    const order = asOrder(
      await create({ customerId: 'c-defaults', items: [{ sku: 'A', quantity: 1, unitPrice: 5 }] }).expect(201),
    );
    expect(order.currency).toBe('MYR');
    const row = await eventually('the order to be recorded', () =>
      stack.database.db('orders.orders').where({ id: order.id }).first(),
    );
    expect(row).toMatchObject({ currency: 'MYR', customer_id: 'c-defaults' });
  });

  it('accepts every field at its limit', async () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      sku: 'S'.repeat(64),
      quantity: i === 0 ? 1000 : 1,
      unitPrice: i,
    }));
    const body = orderRequest({
      customerId: 'c'.repeat(64),
      items,
      currency: 'USD',
      paymentToken: `tok_${'a'.repeat(60)}`,
    });
    const order = asOrder(await create(body).expect(201));
    expect(order.items).toHaveLength(100);
    expect(order.amount).toBe(items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0));
  });

  it('carries the order on to confirmed and delivered, recording each step in its history', async () => {
    const { id } = asOrder(await create(orderRequest()).expect(201));
    const delivered = await stack.waitForState(app, id, 'delivered');
    expect(delivered.history.map((entry) => entry.state)).toEqual(['created', 'confirmed', 'delivered']);
    expect(delivered.payment.status).toBe('confirmed');
  });

  it('cancels a declined order with reason payment_declined', async () => {
    const { id } = asOrder(await create(orderRequest({ paymentToken: 'tok_decline' })).expect(201));
    const cancelled = await stack.waitForState(app, id, 'cancelled');
    expect(cancelled).toMatchObject({ cancelReason: 'payment_declined', payment: { status: 'declined' } });
  });
});

describe('GET /orders/:id and /orders/:id/status', () => {
  it('answers the order and its state', async () => {
    const { id } = asOrder(await create(orderRequest()).expect(201));
    expect(asOrder(await request(app).get(`/orders/${id}`).expect(200)).id).toBe(id);
    const status = orderStatusSchema.parse((await request(app).get(`/orders/${id}/status`).expect(200)).body);
    expect(status.id).toBe(id);
  });

  it.each([randomUUID(), 'not-a-uuid', '123', '%zz'])('answers 404 problem for order %s', async (id) => {
    for (const path of [`/orders/${id}`, `/orders/${id}/status`]) {
      const response = await request(app)
        .get(path)
        .expect(404)
        .expect('Content-Type', /application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 404, title: 'Not Found' });
    }
  });
});

describe('Idempotency-Key', () => {
  it('replays the same order for the same key and body, with one workflow and one payment', async () => {
    const key = randomUUID();
    const first = await create(orderRequest(), key).expect(201);
    const again = await create(orderRequest(), key).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.location).toBe(`/orders/${first.body.id}`);
    await stack.waitForState(app, first.body.id, 'delivered');
    expect(await paymentsFor(first.body.id)).toHaveLength(1);
    await eventually('one workflow for the key', async () =>
      (await workflowRuns(first.body.id)).count === 1 ? true : undefined,
    );
  });

  it('treats a body with other key order and spelled-out defaults as the same request', async () => {
    const key = randomUUID();
    const items = [{ unitPrice: 7, quantity: 3, sku: 'X' }];
    const first = await create({ customerId: 'c-7', items }, key).expect(201);
    const again = await create({ items, currency: 'MYR', paymentToken: 'tok_default', customerId: 'c-7' }, key).expect(
      201,
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });

  it('answers 409 for the same key with a different body', async () => {
    const key = randomUUID();
    await create(orderRequest(), key).expect(201);
    const response = await create(orderRequest({ customerId: 'someone-else' }), key).expect(409);
    expect(response.body).toMatchObject({ status: 409, type: '/problems/idempotency-conflict' });
  });

  it('gives concurrent identical requests the same order, one workflow, and marks all but the creator replayed', async () => {
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 6 }, () => create(orderRequest(), key)));
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(new Set(responses.map((r) => r.body.id))).toEqual(new Set([orderIdForKey(key)]));
    const created = responses.filter((r) => r.headers['idempotent-replayed'] === undefined);
    expect(created).toHaveLength(1);
    await eventually('one workflow for the key', async () =>
      (await workflowRuns(orderIdForKey(key))).count === 1 ? true : undefined,
    );
    await stack.waitForState(app, orderIdForKey(key), 'delivered');
    expect(await paymentsFor(orderIdForKey(key))).toHaveLength(1);
  });

  it('answers one 201 and one 409 to concurrent requests with the same key and different bodies', async () => {
    const key = randomUUID();
    const responses = await Promise.all([
      create(orderRequest({ customerId: 'first' }), key),
      create(orderRequest({ customerId: 'second' }), key),
    ]);
    expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('replays from Postgres when the keyed workflow has already closed', async () => {
    const key = randomUUID();
    const first = asOrder(await create(orderRequest({ paymentToken: 'tok_decline' }), key).expect(201));
    await stack.waitForState(app, first.id, 'cancelled');
    await eventually('the workflow to close', async () => {
      const { status } = await stack.client.workflow.getHandle(orderWorkflowId(first.id)).describe();
      return status.name === 'COMPLETED' ? true : undefined;
    });
    // A lookup that misses once stands in for a request that read Postgres just before the order was recorded.
    const reads = createOrderReads(stack.database.db);
    let misses = 1;
    const missingOnce = {
      ...reads,
      findRequestFingerprint: async (id: string) => (misses-- > 0 ? undefined : reads.findRequestFingerprint(id)),
    };
    const createOrder = createOrderCommand({
      client: stack.client,
      deliveryDelaySeconds: 1,
      startTimeoutMs: ORDER_START_TIMEOUT_MS,
      reads: missingOnce,
      lookup: createOrderLookup({ reads: missingOnce, client: stack.client }),
      backlog: createBacklog({ client: stack.client, maxBacklog: 0 }),
    });
    const replay = await createOrder(createOrderSchema.parse(orderRequest({ paymentToken: 'tok_decline' })), key);
    expect(replay).toMatchObject({ replayed: true, order: { id: first.id, state: 'cancelled' } });
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
  ])('answers 400 for a key that is %s', async (_, key) => {
    const response = await create(orderRequest(), key).expect(400);
    expect(response.body.errors).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) }]);
  });

  it('accepts a key of exactly 255 characters', async () => {
    const key = `${randomUUID()}${'k'.repeat(219)}`;
    expect(key).toHaveLength(255);
    await create(orderRequest(), key).expect(201);
  });
});
