import { WorkflowFailedError } from '@temporalio/client';
import { cancelSignal, statusQuery } from '../../src/domain';
import { eventually } from '../support/poll';
import { FakeOrderStore, FakePayments, gate, invalidToken } from './fakes';
import { DELIVERY_DELAY_SECONDS, newOrderInput, startWorkflowHarness, type WorkflowHarness } from './harness';

let harness: WorkflowHarness;
beforeAll(async () => {
  harness = await startWorkflowHarness();
});
afterAll(async () => {
  await harness?.teardown();
});

const withWorkers: WorkflowHarness['withWorkers'] = (...args) => harness.withWorkers(...args);
const startOrder: WorkflowHarness['startOrder'] = (...args) => harness.startOrder(...args);
const stateOf: WorkflowHarness['stateOf'] = (...args) => harness.stateOf(...args);
const waitForState: WorkflowHarness['waitForState'] = (...args) => harness.waitForState(...args);

describe('orderWorkflow', () => {
  it('confirms a paid order and delivers it once the delivery delay has passed, not before', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      const confirmed = await waitForState(handle, 'confirmed');
      expect(confirmed.payment).toEqual({ status: 'confirmed', id: 'pay_1' });
      expect(confirmed.amount).toBe(2100);

      await harness.env.sleep((DELIVERY_DELAY_SECONDS - 60) * 1000);
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

  it('abandons the delivery timer and refunds when cancelled in confirmed, and never delivers', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.signal(cancelSignal, {});
      return handle.result();
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

  it('still records a cancel it rejected when the workflow itself was cancelled first', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const refunding = gate<void>();
    payments.refund = async () => {
      await refunding.promise;
      return { status: 'refunded', paymentId: 'pay_1' };
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.cancel();
      await eventually('the refund', () => (payments.refunds.length > 0 ? true : undefined));
      await handle.signal(cancelSignal, { reason: 'me too' });
      refunding.open();
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'cancelled', cancelReason: 'workflow_cancelled' });
    expect(store.rejections).toEqual([expect.objectContaining({ sequence: 1, state: 'confirmed', reason: 'me too' })]);
    expect(result.history.at(-1)).toMatchObject({ event: 'cancel_rejected', reason: 'me too' });
  });

  it('records the order through an ordinary activity once local attempts keep failing', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    store.beforeCreated = async () => {
      if (store.createAttempts.length <= 3) throw new Error('database unavailable');
    };
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(store.createAttempts).toEqual([true, true, true, false]);
    expect(store.created).toHaveLength(1);
    expect(result.state).toBe('delivered');
  });

  it('starts the delivery delay when it decides to confirm, not once `confirmed` is written', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const written = gate<void>();
    store.beforeTransition = async (record) => {
      if (record.to === 'confirmed') await written.promise;
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder({ ...newOrderInput(), deliveryDelaySeconds: 2 });
      try {
        await eventually('the delivery timer to fire while `confirmed` is being written', async () => {
          const { events } = await handle.fetchHistory();
          return events?.some((event) => event.timerFiredEventAttributes) ? true : undefined;
        });
      } finally {
        written.open(); // also when it failed, so the workers can stop
      }
      return handle.result();
    });
    expect(result.state).toBe('delivered');
    expect(store.path()).toEqual(['created', 'confirmed', 'delivered']);
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
