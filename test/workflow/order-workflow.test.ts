import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { cancelSignal, cancelUpdate, statusQuery } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { gate } from '../support/gate';
import { FakeOrderStore, FakePayments, invalidToken } from './fakes';
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

  it('refuses a cancel Update outside the rules, a reason too long or one holding a NUL, and takes the next one', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      for (const reason of ['r'.repeat(201), 'r\u0000']) {
        const refused = await handle.executeUpdate(cancelUpdate, { args: [{ reason }] }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      }
      expect(await stateOf(handle)).toBe('confirmed');
      // Ended here, so that no order of this test is left running into the next one's skipped time.
      expect((await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'valid' }] })).status).toBe('accepted');
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'cancelled', cancelReason: 'valid' });
    expect(store.path()).toEqual(['created', 'confirmed', 'cancelled']);
  });

  it('refunds once when the cancel is sent twice, and answers both as accepted', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const { first, second, result } = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      const first = await handle.executeUpdate(cancelUpdate, { args: [{}] });
      await handle.signal(cancelSignal, { reason: 'again' });
      const second = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'and again' }] });
      return { first, second, result: await handle.result() };
    });
    expect([first.status, second.status]).toEqual(['accepted', 'accepted']);
    expect(result).toMatchObject({ state: 'cancelled', cancelReason: 'customer_request' });
    expect(payments.refunds).toHaveLength(1);
    expect(store.path()).toEqual(['created', 'confirmed', 'cancelled']);
    expect(store.rejections).toEqual([]);
  });

  it('answers a cancel after the order is cancelled, and writes the cancel before the refund runs', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const stateAtRefund: (string | undefined)[] = [];
    payments.refund = async () => {
      stateAtRefund.push(store.state());
      return { status: 'refunded', paymentId: 'pay_1' };
    };
    const decision = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      const decision = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'too late', requestId: 'r-1' }] });
      await handle.result();
      return decision;
    });
    expect(decision).toMatchObject({ status: 'accepted', order: { state: 'cancelled', cancelReason: 'too late' } });
    expect(stateAtRefund).toEqual(['cancelled']);
    expect(store.settlements).toEqual([expect.objectContaining({ payment: { status: 'refunded', id: 'pay_1' } })]);
  });

  it('counts one cancel sent as an Update and again as a signal under the same request id once', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const deliveryWritten = gate<void>();
    store.afterTransition = async (record) => {
      if (record.to === 'delivered') await deliveryWritten.promise;
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await harness.env.sleep(DELIVERY_DELAY_SECONDS * 1000);
      await eventually('delivery being written', () => (store.state() === 'delivered' ? true : undefined));
      await handle.signal(cancelSignal, { requestId: 'r-2' });
      await handle.signal(cancelSignal, { requestId: 'r-2' });
      deliveryWritten.open();
      return handle.result();
    });
    expect(result.state).toBe('delivered');
    expect(store.rejections).toEqual([expect.objectContaining({ requestId: 'r-2', state: 'delivered' })]);
  });

  it('leaves a delivered order delivered and records a cancel that lost the race as rejected', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const deliveryWritten = gate<void>();
    // The cancel comes after the delivery committed and before its workflow task completed: the task is retried with
    // the cancel in view, decides to cancel, and the row answers that the order is delivered.
    store.afterTransition = async (record) => {
      if (record.to === 'delivered') await deliveryWritten.promise;
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      const done = handle.result();
      await eventually('delivery being written', () => (store.state() === 'delivered' ? true : undefined));
      await handle.signal(cancelSignal, {});
      deliveryWritten.open();
      return done;
    });
    expect(result.state).toBe('delivered');
    expect(store.path()).toEqual(['created', 'confirmed', 'delivered']);
    expect(payments.refunds).toHaveLength(0);
    expect(store.rejections).toEqual([expect.objectContaining({ state: 'delivered', reason: 'customer_request' })]);
    expect(result.history.at(-1)).toMatchObject({ event: 'cancel_rejected', state: 'delivered' });
  });

  it('follows the row when a retried task decides to deliver an order an earlier try cancelled', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    // As if an earlier try of this task had taken a cancel (an Update the server then lost) and committed it.
    store.beforeTransition = async (record) => {
      if (record.to !== 'delivered') return;
      store.beforeTransition = async () => {};
      await store.recordTransition({ ...record, to: 'cancelled', reason: 'earlier try' });
    };
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(result).toMatchObject({ state: 'cancelled', cancelReason: 'earlier try', payment: { status: 'refunded' } });
    expect(store.path()).toEqual(['created', 'confirmed', 'cancelled']);
    expect(payments.refunds).toHaveLength(1);
    expect(result.history.map((h) => h.state)).toEqual(['created', 'confirmed', 'cancelled']);
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

  it('waits out a database outage during each write, recording each one once', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const failures = new Map<string, number>();
    const outage = (write: string) => {
      const failed = failures.get(write) ?? 0;
      if (failed >= 2) return;
      failures.set(write, failed + 1);
      throw new Error(`database unavailable (${write})`);
    };
    store.beforeCreated = async () => outage('created');
    store.beforeTransition = async (record) => outage(record.to);
    const result = await withWorkers(store, payments, async () => (await startOrder()).result());
    expect(result.state).toBe('delivered');
    expect([...failures.values()]).toEqual([2, 2, 2]);
    expect(store.createAttempts).toEqual([true, true, true]);
    expect(store.created).toHaveLength(1);
    expect(store.path()).toEqual(['created', 'confirmed', 'delivered']);
  });

  it('waits out a database outage while settling a refund', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    let failed = 0;
    store.beforeSettled = async () => {
      if (failed++ < 2) throw new Error('database unavailable');
    };
    const result = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await waitForState(handle, 'confirmed');
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'cancelled', payment: { status: 'refunded' } });
    expect(store.settlements).toHaveLength(1);
  });

  it('takes three workflow tasks and one remote activity on the happy path', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const events = await withWorkers(store, payments, async () => {
      const handle = await startOrder();
      await handle.result();
      return (await handle.fetchHistory()).events ?? [];
    });
    const count = (has: (event: (typeof events)[number]) => unknown) => events.filter(has).length;
    expect(count((e) => e.workflowTaskCompletedEventAttributes)).toBeLessThanOrEqual(3);
    expect(count((e) => e.activityTaskScheduledEventAttributes)).toBe(1);
    expect(count((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toBe(2);
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
