import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createOrderActivities, ILLEGAL_TRANSITION_ERROR } from '../../src/activities/orders';
import { ORDER_LIMITS, type OrderActivities, type TransitionRecord } from '../../src/domain';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { newOrderRecord } from '../support/orders';

let database: TestDatabase;
let activities: OrderActivities;

beforeAll(async () => {
  database = await createTestDatabase();
  activities = createOrderActivities({ db: database.db });
});

afterAll(async () => {
  await database?.drop();
});

function confirm(orderId: string): TransitionRecord {
  return {
    orderId,
    from: 'created',
    to: 'confirmed',
    reason: null,
    payment: { status: 'confirmed', id: 'pay_1' },
    at: new Date().toISOString(),
    requestedBy: null,
  };
}

const orderRow = (id: string) => database.db('orders.orders').where({ id }).first();
const eventsOf = (id: string) => database.db('orders.order_events').where({ order_id: id }).orderBy('id');

describe('order activities', () => {
  it('records a new order with its created event once, however often the call is retried', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    await activities.recordOrderCreated(record);
    await Promise.all([activities.recordOrderCreated(record), activities.recordOrderCreated(record)]);
    expect(await orderRow(record.order.id)).toMatchObject({
      state: 'created',
      amount: 2100,
      payment_status: 'pending',
      version: 1,
    });
    expect(await eventsOf(record.order.id)).toEqual([
      expect.objectContaining({ from_state: null, to_state: 'created' }),
    ]);
  });

  it('records a transition and its event in one step, and a retried transition changes nothing', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const transition = confirm(record.order.id);
    await activities.recordTransition(transition);
    await activities.recordTransition(transition);
    await Promise.all([activities.recordTransition(transition), activities.recordTransition(transition)]);
    expect(await orderRow(record.order.id)).toMatchObject({
      state: 'confirmed',
      payment_status: 'confirmed',
      payment_id: 'pay_1',
      version: 2,
    });
    expect((await eventsOf(record.order.id)).map((e) => e.to_state)).toEqual(['created', 'confirmed']);
  });

  it('refuses a transition whose from state is not the current one, as a non-retryable failure', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const deliver: TransitionRecord = { ...confirm(record.order.id), from: 'confirmed', to: 'delivered' };
    const failure = await activities.recordTransition(deliver).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: ILLEGAL_TRANSITION_ERROR, nonRetryable: true });
    expect(await orderRow(record.order.id)).toMatchObject({ state: 'created', version: 1 });
    expect(await eventsOf(record.order.id)).toHaveLength(1);
  });

  it('answers a decision that lost with the decision the row committed first, and its transitions', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    await activities.recordTransition(confirm(record.order.id));
    const delivered: TransitionRecord = { ...confirm(record.order.id), from: 'confirmed', to: 'delivered' };
    await activities.recordTransition(delivered);
    const cancel: TransitionRecord = { ...delivered, to: 'cancelled', reason: 'too late' };
    const answer = await activities.recordTransition(cancel);
    expect(answer).toMatchObject({
      state: 'delivered',
      cancelReason: null,
      payment: { status: 'confirmed', id: 'pay_1' },
      updatedAt: delivered.at,
      transitions: [{ event: 'transition', state: 'delivered', at: delivered.at, reason: null }],
    });
    expect(await orderRow(record.order.id)).toMatchObject({ state: 'delivered', version: 3 });
  });

  it('answers a decision from an earlier state with every transition the row took since', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    await activities.recordTransition(confirm(record.order.id));
    await activities.recordTransition({ ...confirm(record.order.id), from: 'confirmed', to: 'cancelled', reason: 'r' });
    const answer = await activities.recordTransition(confirm(record.order.id));
    expect(answer.state).toBe('cancelled');
    expect(answer.transitions.map((t) => t.state)).toEqual(['confirmed', 'cancelled']);
  });

  it('settles the payment of a cancelled order once, keeping the time first recorded', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const cancel: TransitionRecord = { ...confirm(record.order.id), to: 'cancelled', reason: 'customer_request' };
    await activities.recordTransition(cancel);
    const settled = { orderId: record.order.id, payment: { status: 'refunded' as const, id: 'pay_1' }, at: cancel.at };
    const later = new Date(Date.parse(cancel.at) + 60_000).toISOString();
    expect(await activities.recordPaymentSettled({ ...settled, at: later })).toEqual({ at: later });
    expect(await activities.recordPaymentSettled({ ...settled, at: cancel.at })).toEqual({ at: later });
    expect(await orderRow(record.order.id)).toMatchObject({ payment_status: 'refunded', version: 3 });
  });

  it('refuses to settle a refund of an order that is not cancelled', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const settled = { orderId: record.order.id, payment: { status: 'refunded' as const, id: 'p' }, at: 'now' };
    await expect(activities.recordPaymentSettled({ ...settled, at: new Date().toISOString() })).rejects.toMatchObject({
      type: ILLEGAL_TRANSITION_ERROR,
      nonRetryable: true,
    });
  });

  it('refuses a transition for an order that was never recorded', async () => {
    await expect(activities.recordTransition(confirm(randomUUID()))).rejects.toMatchObject({
      type: ILLEGAL_TRANSITION_ERROR,
    });
  });

  it('records each rejected cancel once under retry', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const rejection = {
      orderId: record.order.id,
      requestId: 'r-1',
      state: 'created' as const,
      reason: 'late',
      at: new Date().toISOString(),
      requestedBy: 'c-42',
    };
    await activities.recordCancelRejected(rejection);
    await activities.recordCancelRejected(rejection);
    await activities.recordCancelRejected({ ...rejection, requestId: 'r-2' });
    expect((await eventsOf(record.order.id)).filter((e) => e.event === 'cancel_rejected')).toHaveLength(2);
  });

  // Migrations keep the lengths they were written with: this holds the columns to the rules the API and workflow check.
  it('stores the longest customer id, sku and cancel requester the order rules allow', async () => {
    const record = newOrderRecord();
    const customerId = 'c'.repeat(ORDER_LIMITS.customerIdLength);
    const sku = 's'.repeat(ORDER_LIMITS.skuLength);
    const order = { ...record.order, customerId, items: [{ ...record.order.items[0], sku }] };
    await activities.recordOrderCreated({ ...record, order });
    const requestedBy = 'r'.repeat(ORDER_LIMITS.customerIdLength);
    await activities.recordCancelRejected({
      orderId: order.id,
      requestId: 'r'.repeat(ORDER_LIMITS.cancelRequestIdLength),
      state: 'created',
      reason: 'x'.repeat(ORDER_LIMITS.cancelReasonLength),
      at: new Date().toISOString(),
      requestedBy,
    });
    expect(await orderRow(order.id)).toMatchObject({ customer_id: customerId, items: [{ sku }] });
    expect(await eventsOf(order.id)).toContainEqual(expect.objectContaining({ requested_by: requestedBy }));
  });

  it('answers the time a write was first recorded, also to a retry that brings a later time', async () => {
    const record = newOrderRecord();
    const later = (at: string) => new Date(Date.parse(at) + 60_000).toISOString();
    const first = record.order.createdAt;
    expect(await activities.recordOrderCreated(record)).toEqual({ at: first });
    const retried = { ...record, order: { ...record.order, createdAt: later(first) } };
    expect(await activities.recordOrderCreated(retried)).toEqual({ at: first });

    const transition = confirm(record.order.id);
    expect(await activities.recordTransition(transition)).toMatchObject({ updatedAt: transition.at });
    expect(await activities.recordTransition({ ...transition, at: later(transition.at) })).toMatchObject({
      updatedAt: transition.at,
      transitions: [{ state: 'confirmed', at: transition.at }],
    });

    const rejection = {
      orderId: record.order.id,
      requestId: 'r-1',
      state: 'confirmed' as const,
      reason: null,
      at: first,
      requestedBy: null,
    };
    expect(await activities.recordCancelRejected(rejection)).toEqual({ at: first });
    expect(await activities.recordCancelRejected({ ...rejection, at: later(first) })).toEqual({ at: first });
    expect((await eventsOf(record.order.id)).map((e: { at: Date }) => e.at.toISOString())).toEqual([
      first,
      transition.at,
      first,
    ]);
  });
});
