import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  cancelSignal,
  ORDERS_TASK_QUEUE,
  orderWorkflowId,
  PAYMENTS_TASK_QUEUE,
  statusQuery,
  type OrderState,
  type OrderView,
  type OrderWorkflowInput,
} from '../../src/domain';
import { createTimeSkippingEnv } from '../../src/tools/temporal-env';
import type { orderWorkflow } from '../../src/workflows';
import { eventually } from '../support/poll';
import { FakeOrderStore, FakePayments, gate, invalidToken } from './fakes';

const DELIVERY_DELAY_SECONDS = 24 * 60 * 60;

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows') });
});

afterAll(async () => {
  await env?.teardown();
});

function newOrderInput(overrides: Partial<OrderWorkflowInput['order']> = {}): OrderWorkflowInput {
  return {
    order: {
      id: randomUUID(),
      customerId: 'c-42',
      items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
      currency: 'MYR',
      paymentToken: 'tok_visa',
      ...overrides,
    },
    deliveryDelaySeconds: DELIVERY_DELAY_SECONDS,
  };
}

/** Runs an orders worker and a payments worker with the given fakes around `story`. */
async function withWorkers<T>(store: FakeOrderStore, payments: FakePayments, story: () => Promise<T>): Promise<T> {
  const [ordersWorker, paymentsWorker] = await Promise.all([
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: ORDERS_TASK_QUEUE,
      workflowBundle,
      activities: store,
    }),
    Worker.create({ connection: env.nativeConnection, taskQueue: PAYMENTS_TASK_QUEUE, activities: payments }),
  ]);
  return ordersWorker.runUntil(paymentsWorker.runUntil(story));
}

async function startOrder(input = newOrderInput()): Promise<WorkflowHandle<typeof orderWorkflow>> {
  return env.client.workflow.start('orderWorkflow', {
    taskQueue: ORDERS_TASK_QUEUE,
    workflowId: orderWorkflowId(input.order.id),
    args: [input],
  });
}

async function stateOf(handle: WorkflowHandle<typeof orderWorkflow>): Promise<OrderState> {
  return (await handle.query(statusQuery)).state;
}

function waitForState(handle: WorkflowHandle<typeof orderWorkflow>, state: OrderState): Promise<OrderView> {
  return eventually(`order state ${state}`, async () => {
    const view = await handle.query(statusQuery);
    return view.state === state ? view : undefined;
  });
}

describe('orderWorkflow', () => {
  it('confirms a paid order and delivers it once the delivery delay has passed, not before', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      const confirmed = await waitForState(handle, 'confirmed');
      expect(confirmed.payment).toEqual({ status: 'confirmed', id: 'pay_1' });
      expect(confirmed.amount).toBe(2100);

      await env.sleep((DELIVERY_DELAY_SECONDS - 60) * 1000);
      expect(await stateOf(handle)).toBe('confirmed');

      const delivered = await handle.result();
      expect(delivered.state).toBe('delivered');
      expect(delivered.history.map((h) => h.state)).toEqual(['created', 'confirmed', 'delivered']);
      expect(await stateOf(handle)).toBe('delivered');
    });
    expect(store.path()).toEqual(['created', 'confirmed', 'delivered']);
    expect(payments.charges).toHaveLength(1);
    expect(payments.refunds).toHaveLength(0);
  });

  it('records the order as created before anything else, with the amount computed from the items', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const hold = gate<void>();
    payments.charge = async () => {
      await hold.promise;
      return { status: 'confirmed', paymentId: 'pay_1' };
    };
    await withWorkers(store, payments, async () => {
      const input = newOrderInput({
        items: [
          { sku: 'A', quantity: 3, unitPrice: 100 },
          { sku: 'B', quantity: 1, unitPrice: 5 },
        ],
      });
      const handle = await startOrder(input);
      await eventually('the payment attempt', () => (payments.charges.length > 0 ? true : undefined));
      const view = await handle.query(statusQuery);
      expect(view).toMatchObject({ id: input.order.id, state: 'created', amount: 305, payment: { status: 'pending' } });
      expect(store.created[0].order).toMatchObject({ id: input.order.id, state: 'created', amount: 305 });
      expect(payments.charges[0]).toMatchObject({ orderId: input.order.id, amount: 305, paymentToken: 'tok_visa' });
      hold.open();
      await waitForState(handle, 'confirmed');
      await handle.terminate('test done');
    });
  });

  it('cancels a declined order with reason payment_declined and never refunds it', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    payments.charge = async () => ({ status: 'declined', paymentId: 'pay_d' });
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'payment_declined',
      payment: { status: 'declined' },
    });
    expect(store.path()).toEqual(['created', 'cancelled']);
    expect(payments.refunds).toHaveLength(0);
  });

  it('cancels an order whose token the gateway refuses with reason payment_invalid, without retrying', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    payments.charge = async () => invalidToken();
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'payment_invalid',
      payment: { status: 'invalid' },
    });
    expect(payments.charges).toHaveLength(1);
    expect(payments.refunds).toHaveLength(0);
  });

  it('retries transient payment failures with backoff until the payment goes through', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    payments.charge = async (_request, attempt) => {
      if (attempt < 4) throw new Error(`gateway unavailable (attempt ${attempt})`);
      return { status: 'confirmed', paymentId: 'pay_r' };
    };
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(result.state).toBe('delivered');
    expect(payments.charges).toHaveLength(4);
    expect(store.path()).toEqual(['created', 'confirmed', 'delivered']);
  });

  it('refunds when cancelled in created and the payment attempt then confirms', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const hold = gate<void>();
    payments.charge = async () => {
      await hold.promise;
      return { status: 'confirmed', paymentId: 'pay_c' };
    };
    // The real refund waits for the in-flight charge to settle, then refunds what it charged.
    payments.refund = async () => ({ status: 'refunded', paymentId: 'pay_c' });
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await eventually('the payment attempt', () => (payments.charges.length > 0 ? true : undefined));
      expect(await stateOf(handle)).toBe('created');
      await handle.signal(cancelSignal, {});
      const view = await handle.result();
      hold.open();
      return view;
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'customer_request',
      payment: { status: 'refunded', id: 'pay_c' },
    });
    expect(payments.refunds).toHaveLength(1);
    expect(store.path()).toEqual(['created', 'cancelled']);
  });

  it('cancels without a refund when cancelled in created and the payment attempt is declined', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const hold = gate<void>();
    payments.charge = async () => {
      await hold.promise;
      return { status: 'declined', paymentId: 'pay_d' };
    };
    // The refund of a declined payment finds nothing charged and leaves it declined.
    payments.refund = async () => ({ status: 'declined', paymentId: 'pay_d' });
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await eventually('the payment attempt', () => (payments.charges.length > 0 ? true : undefined));
      await handle.signal(cancelSignal, { reason: 'changed my mind' });
      const view = await handle.result();
      hold.open();
      return view;
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'changed my mind',
      payment: { status: 'declined' },
    });
    expect(store.transitions).toHaveLength(1);
  });

  it('stops a payment still retrying through an outage when cancelled in created, and voids it', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    payments.charge = async () => {
      throw new Error('gateway unavailable');
    };
    payments.refund = async () => ({ status: 'voided', paymentId: 'pay_v' });
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await eventually('a second payment attempt', () => (payments.charges.length > 1 ? true : undefined));
      await handle.signal(cancelSignal, {});
      return handle.result();
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'customer_request',
      payment: { status: 'voided' },
    });
    expect(payments.refunds).toHaveLength(1);
  });

  it('abandons the delivery timer and refunds when cancelled in confirmed, and never delivers', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, {});
      const view = await handle.result();
      await env.sleep(2 * DELIVERY_DELAY_SECONDS * 1000);
      return view;
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'customer_request',
      payment: { status: 'refunded' },
    });
    expect(store.path()).toEqual(['created', 'confirmed', 'cancelled']);
    expect(payments.refunds).toHaveLength(1);
  });

  it('refunds once and records the second cancel as rejected when the cancel signal is sent twice', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, {});
      await handle.signal(cancelSignal, { reason: 'again' });
      return handle.result();
    });
    expect(result.state).toBe('cancelled');
    expect(payments.refunds).toHaveLength(1);
    expect(store.path()).toEqual(['created', 'confirmed', 'cancelled']);
    expect(store.rejections).toEqual([expect.objectContaining({ sequence: 1, reason: 'again' })]);
  });

  it('leaves a delivered order delivered and records a cancel that lost the race as rejected', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const deliveryRecorded = gate<void>();
    let deliveryStarted = false;
    store.beforeTransition = async (record) => {
      if (record.to !== 'delivered') return;
      deliveryStarted = true;
      await deliveryRecorded.promise;
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      const done = handle.result();
      await eventually('delivery being recorded', () => (deliveryStarted ? true : undefined));
      await handle.signal(cancelSignal, {});
      deliveryRecorded.open();
      return done;
    });
    expect(result.state).toBe('delivered');
    expect(payments.refunds).toHaveLength(0);
    expect(store.rejections).toEqual([expect.objectContaining({ state: 'delivered', reason: 'customer_request' })]);
    expect(result.history.at(-1)).toMatchObject({ event: 'cancel_rejected', state: 'delivered' });
  });

  it('treats cancelling the workflow itself as a cancel request and still refunds', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.cancel();
      return handle.result();
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'workflow_cancelled',
      payment: { status: 'refunded' },
    });
    expect(payments.refunds).toHaveLength(1);
  });

  it('keeps the delivery delay it started with', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    await withWorkers(store, payments, async () =>
      (await startOrder({ ...newOrderInput(), deliveryDelaySeconds: 5 })).result(),
    );
    const [confirmed, delivered] = store.transitions;
    const delay = Date.parse(delivered.at) - Date.parse(confirmed.at);
    expect(delay).toBeGreaterThanOrEqual(5_000);
    expect(delay).toBeLessThan(DELIVERY_DELAY_SECONDS * 1000);
  });

  it('fails fast, recording nothing, when started with input that breaks the order rules', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const input = newOrderInput({ items: [], paymentToken: 'visa' });
    const failure = await withWorkers(store, payments, async () =>
      (await startOrder(input)).result().catch((e: unknown) => e),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(/order\.items.*order\.paymentToken/s);
    expect(store.created).toHaveLength(0);
  });
});
