import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { orderWorkflowId } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { cancelRefusedSchema } from '../../src/api/schemas/responses';
import { configWith, asCancelAnswer, asOrder, orderRequest, startApiStack, type ApiStack } from './harness';

// Each charge takes this long, so an order stays `created` long enough to be cancelled there.
const GATEWAY_DELAY_MS = 3_000;

let stack: ApiStack;
let quickDelivery: Express;
let slowDelivery: Express;

beforeAll(async () => {
  stack = await startApiStack({ gatewayDelayMs: GATEWAY_DELAY_MS });
  quickDelivery = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 1 }));
  slowDelivery = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 3600 }));
});

afterAll(async () => {
  await stack?.stop();
});

async function createOrder(app: Express, overrides: Record<string, unknown> = {}): Promise<string> {
  return asOrder(await request(app).post('/orders').send(orderRequest(overrides)).expect(201)).id;
}

const cancel = (app: Express, id: string) => request(app).post(`/orders/${id}/cancel`);

describe('POST /orders/:id/cancel', () => {
  it('answers 202 accepted in created, the order already cancelled, and it ends with nothing left charged', async () => {
    const id = await createOrder(slowDelivery);
    const answer = asCancelAnswer(await cancel(slowDelivery, id).send({ reason: 'changed my mind' }).expect(202));
    expect(answer).toMatchObject({ id, state: 'cancelled', cancellation: { status: 'accepted' } });
    const settled = await eventually('the payment to settle', async () => {
      const order = asOrder(await request(slowDelivery).get(`/orders/${id}`).expect(200));
      return ['voided', 'refunded'].includes(order.payment.status) ? order : undefined;
    });
    expect(settled).toMatchObject({ state: 'cancelled', cancelReason: 'changed my mind' });
  });

  it('answers 202 accepted in confirmed, abandons delivery and refunds the payment', async () => {
    const id = await createOrder(slowDelivery);
    await stack.waitForState(slowDelivery, id, 'confirmed');
    const answer = asCancelAnswer(await cancel(slowDelivery, id).expect(202));
    expect(answer).toMatchObject({ id, state: 'cancelled', cancellation: { status: 'accepted' } });
    const refunded = await eventually('the refund', async () => {
      const order = asOrder(await request(slowDelivery).get(`/orders/${id}`).expect(200));
      return order.payment.status === 'refunded' ? order : undefined;
    });
    expect(refunded).toMatchObject({ cancelReason: 'customer_request' });
    expect(refunded.history.map((entry) => entry.state)).toEqual(['created', 'confirmed', 'cancelled']);
  });

  it('answers 200 accepted with the order when it is already cancelled, and changes nothing', async () => {
    const id = await createOrder(slowDelivery, { paymentToken: 'tok_decline' });
    const declined = await stack.waitForState(slowDelivery, id, 'cancelled');
    const { cancellation, ...order } = asCancelAnswer(
      await cancel(slowDelivery, id).send({ reason: 'again' }).expect(200),
    );
    expect(cancellation).toEqual({ status: 'accepted' });
    expect(order).toEqual(declined);
  });

  it('answers 409 rejected once the order is delivered, with the order', async () => {
    const id = await createOrder(quickDelivery);
    await stack.waitForState(quickDelivery, id, 'delivered');
    const response = await cancel(quickDelivery, id)
      .expect(409)
      .expect('Content-Type', /application\/problem\+json/);
    expect(cancelRefusedSchema.parse(response.body)).toMatchObject({
      status: 409,
      type: '/problems/order-delivered',
      cancellation: { status: 'rejected' },
      order: { id, state: 'delivered' },
    });
    expect(asOrder(await request(quickDelivery).get(`/orders/${id}`)).state).toBe('delivered');
  });

  it('answers 409 when the workflow ended without finishing the order, instead of signalling nothing', async () => {
    const id = await createOrder(slowDelivery);
    await stack.waitForState(slowDelivery, id, 'confirmed');
    await stack.client.workflow.getHandle(orderWorkflowId(id)).terminate('operator stopped it');
    const response = await cancel(slowDelivery, id).expect(409);
    expect(response.body).toMatchObject({ status: 409, type: '/problems/order-closed' });
  });

  it.each([randomUUID(), 'not-a-uuid'])('answers 404 problem for order %s', async (id) => {
    const response = await cancel(slowDelivery, id).send({}).expect(404);
    expect(response.body).toMatchObject({ status: 404 });
  });

  it('accepts no body, an empty object, or a reason', async () => {
    for (const body of [undefined, {}, { reason: 'r' }]) {
      const id = await createOrder(slowDelivery);
      const call = cancel(slowDelivery, id);
      asCancelAnswer(await (body === undefined ? call : call.send(body)).expect(202));
    }
  });

  it.each([
    ['an empty reason', { reason: '' }, 'reason'],
    ['a reason over 200 characters', { reason: 'r'.repeat(201) }, 'reason'],
    ['a reason with a NUL', { reason: 'r\u0000' }, 'reason'],
    ['an unknown field', { why: 'x' }, 'why'],
  ])('answers 400 for %s', async (_, body, path) => {
    const id = await createOrder(slowDelivery);
    const response = await cancel(slowDelivery, id).send(body).expect(400);
    expect(response.body.errors).toEqual([{ path, message: expect.any(String) }]);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const id = await createOrder(slowDelivery);
    await cancel(slowDelivery, id).set('Content-Type', 'text/plain').send('please cancel').expect(415);
  });
});
