import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createOrderActivities, ILLEGAL_TRANSITION_ERROR } from '../../src/activities/orders';
import type { OrderActivities, TransitionRecord } from '../../src/domain';
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

  it('refuses to leave a final state', async () => {
    const record = newOrderRecord();
    await activities.recordOrderCreated(record);
    const cancel: TransitionRecord = { ...confirm(record.order.id), to: 'cancelled', reason: 'customer_request' };
    await activities.recordTransition(cancel);
    await expect(activities.recordTransition(confirm(record.order.id))).rejects.toMatchObject({
      type: ILLEGAL_TRANSITION_ERROR,
    });
    expect(await orderRow(record.order.id)).toMatchObject({ state: 'cancelled', cancel_reason: 'customer_request' });
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
      sequence: 1,
      state: 'created' as const,
      reason: 'late',
      at: new Date().toISOString(),
    };
    await activities.recordCancelRejected(rejection);
    await activities.recordCancelRejected(rejection);
    await activities.recordCancelRejected({ ...rejection, sequence: 2 });
    expect((await eventsOf(record.order.id)).filter((e) => e.event === 'cancel_rejected')).toHaveLength(2);
  });

  it('answers the time a write was first recorded, also to a retry that brings a later time', async () => {
    const record = newOrderRecord();
    const later = (at: string) => new Date(Date.parse(at) + 60_000).toISOString();
    const first = record.order.createdAt;
    expect(await activities.recordOrderCreated(record)).toEqual({ at: first });
    const retried = { ...record, order: { ...record.order, createdAt: later(first) } };
    expect(await activities.recordOrderCreated(retried)).toEqual({ at: first });

    const transition = confirm(record.order.id);
    expect(await activities.recordTransition(transition)).toEqual({ at: transition.at });
    expect(await activities.recordTransition({ ...transition, at: later(transition.at) })).toEqual({
      at: transition.at,
    });

    const rejection = { orderId: record.order.id, sequence: 1, state: 'confirmed' as const, reason: null, at: first };
    expect(await activities.recordCancelRejected(rejection)).toEqual({ at: first });
    expect(await activities.recordCancelRejected({ ...rejection, at: later(first) })).toEqual({ at: first });
    expect((await eventsOf(record.order.id)).map((e: { at: Date }) => e.at.toISOString())).toEqual([
      first,
      transition.at,
      first,
    ]);
  });
});
