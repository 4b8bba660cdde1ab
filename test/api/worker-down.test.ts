// With no orders worker: creates still answer 201 at once and GET finds each order from Temporal before its row
// exists; creates beyond the backlog bound are refused; a cancel no worker decides in time is kept and answered
// `pending`. Then a worker comes, and every order the API accepted ends final, each answer borne out.
import { randomUUID } from 'node:crypto';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';

import { cancelRefusedSchema, orderStatusSchema } from '../../src/api/schemas/responses';
import { isFinal, orderWorkflowId, type OrderView } from '../../src/domain';
import { holdingDeliveries } from '../../dev/support/delivery-holds';
import { eventually } from '../../dev/support/poll';
import {
  configWith,
  asCancelAnswer,
  asOrder,
  createTestApp,
  orderRequest,
  silentLogger,
  startApiStack,
  type ApiStack,
} from './harness';

let stack: ApiStack;
let app: Express;
/** Every order the API answered 201 for in this file. */
const accepted: string[] = [];
let pendingCancel: string;

beforeAll(async () => {
  stack = await startApiStack({ ordersWorker: false });
  app = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1, CANCEL_DECISION_TIMEOUT_MS: 1_000 }));
});

afterAll(async () => {
  await stack?.stop();
});

async function create(target: Express, body = orderRequest(), key?: string): Promise<request.Response> {
  const call = request(target).post('/orders').send(body);
  const response = await (key ? call.set('Idempotency-Key', key) : call);
  if (response.status === 201 && !accepted.includes(response.body.id)) accepted.push(response.body.id);
  return response;
}

const rowOf = (id: string) => stack.database.db('orders.orders').where({ id }).first();

describe('with the orders worker down', () => {
  it('answers 201 at once, and GET finds the order from Temporal before the workflow has written its row', async () => {
    const response = await create(app);
    expect(response.status).toBe(201);
    const created = asOrder(await request(app).get(`/orders/${response.body.id}`).expect(200));
    expect(created).toEqual(asOrder(response));
    expect(await rowOf(created.id)).toBeUndefined();
    expect(created).toMatchObject({ state: 'created', payment: { status: 'pending' }, amount: 2100 });
    const status = orderStatusSchema.parse((await request(app).get(`/orders/${created.id}/status`).expect(200)).body);
    expect(status).toEqual({ id: created.id, state: 'created' });
  });

  it('keeps Idempotency-Key semantics from the memo: the same body replays, another body is 409', async () => {
    const key = randomUUID();
    const first = await create(app, orderRequest(), key);
    expect(first.status).toBe(201);
    const again = await create(app, orderRequest(), key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(asOrder(again)).toEqual(asOrder(first));
    expect((await create(app, orderRequest({ customerId: 'other' }), key)).status).toBe(409);
  });

  it('answers a cancel no worker decides in time 202 pending, and keeps the request as a signal', async () => {
    const { body } = await create(app, orderRequest({ paymentToken: 'tok_approve' }));
    pendingCancel = body.id;
    const answer = asCancelAnswer(await request(app).post(`/orders/${pendingCancel}/cancel`).expect(202));
    expect(answer).toMatchObject({ id: pendingCancel, state: 'created', cancellation: { status: 'pending' } });
    const { events } = await stack.client.workflow.getHandle(orderWorkflowId(pendingCancel)).fetchHistory();
    expect(events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cancel')).toBe(true);
  });

  it('refuses creates beyond ORDERS_MAX_BACKLOG with 429 and Retry-After, creating nothing for them', async () => {
    const bounded = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1, ORDERS_MAX_BACKLOG: accepted.length + 2 }));
    const customerId = `c-bounded-${randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6 && !statuses.includes(429); i++) {
      const response = await create(bounded, orderRequest({ customerId }));
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(response.body).toMatchObject({ status: 429, type: '/problems/backlog-full' });
      }
    }
    expect(statuses).toContain(429);
    const createdCount = statuses.filter((status) => status === 201).length;
    await eventually('the started orders in the visibility store', async () => {
      const { count } = await stack.client.workflow.count(`CustomerId = '${customerId}'`);
      return count === createdCount ? true : undefined;
    });
  });
});

describe('once an orders worker is back', () => {
  let deliveries: ReturnType<typeof holdingDeliveries> | undefined;
  let releaseUpdate = () => {};

  beforeAll(async () => {
    await stack.startOrdersWorker((activities) => (deliveries = holdingDeliveries(activities)).activities);
  });

  it('ends every order the API accepted in a final state, and decides the pending cancel', async () => {
    const ends = await Promise.all(
      accepted.map((id) =>
        eventually(
          `order ${id} to end`,
          async () => {
            const order = asOrder(await request(app).get(`/orders/${id}`).expect(200));
            return isFinal(order.state) ? order : undefined;
          },
          { timeoutMs: 60_000 },
        ),
      ),
    );
    expect(ends).toHaveLength(accepted.length);
    const pending = ends.find((order) => order.id === pendingCancel) as OrderView;
    expect(pending).toMatchObject({ state: 'cancelled', cancelReason: 'customer_request' });
    const [{ n }] = await stack.database.db('orders.orders').whereIn('id', accepted).count({ n: '*' });
    expect(Number(n)).toBe(accepted.length);
  });

  it('answers a cancel racing a committed delivery as rejected or pending, never accepted, and it stays delivered', async () => {
    const interceptor: WorkflowClientInterceptor = {
      async startUpdate(input, next) {
        const started = next(input);
        releaseUpdate();
        return started;
      },
    };
    const client = new Client({ connection: stack.client.connection, interceptors: { workflow: [interceptor] } });
    const racing = createTestApp({
      client,
      db: stack.database.db,
      logger: silentLogger,
      config: configWith({ DELIVERY_DELAY_SECONDS: 1, CANCEL_DECISION_TIMEOUT_MS: 2_000 }),
    });
    const { body } = await create(racing, orderRequest({ paymentToken: 'tok_approve' }));
    const held = deliveries!.hold(body.id);
    releaseUpdate = held.release;
    await held.isWritten;
    const response = await request(racing).post(`/orders/${body.id}/cancel`);
    expect([409, 202]).toContain(response.status);
    const final = await stack.waitForState(app, body.id, 'delivered');
    if (response.status === 409) {
      expect(cancelRefusedSchema.parse(response.body).cancellation).toEqual({ status: 'rejected' });
    } else {
      expect(asCancelAnswer(response).cancellation).toEqual({ status: 'pending' });
      await eventually('the pending cancel to be recorded as rejected', async () => {
        const order = asOrder(await request(app).get(`/orders/${body.id}`).expect(200));
        return order.history.some((entry) => entry.event === 'cancel_rejected') ? true : undefined;
      });
    }
    expect(final.payment.status).toBe('confirmed');
  });
});
