// Its own file and environment: once an activity that is running or in retry backoff has been cancelled, the Java
// test server stops skipping time for the rest of that environment's life (timers then take real time).
import { cancelSignal } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { gate } from '../support/gate';
import { FakeOrderStore, FakePayments } from './fakes';
import { startWorkflowHarness, type WorkflowHarness } from './harness';

let harness: WorkflowHarness;
beforeAll(async () => {
  harness = await startWorkflowHarness();
});
afterAll(async () => {
  await harness?.teardown();
});

describe('orderWorkflow cancelled while its payment is in flight', () => {
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
    const result = await harness.withWorkers(store, payments, async () => {
      const handle = await harness.startOrder();
      await eventually('the payment attempt', () => (payments.charges.length > 0 ? true : undefined));
      expect(await harness.stateOf(handle)).toBe('created');
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

  it('cancels when cancelled in created, and the refund leaves a payment then declined as declined', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const hold = gate<void>();
    payments.charge = async () => {
      await hold.promise;
      return { status: 'declined', paymentId: 'pay_d' };
    };
    // The refund of a declined payment finds nothing charged and leaves it declined.
    payments.refund = async () => ({ status: 'declined', paymentId: 'pay_d' });
    const result = await harness.withWorkers(store, payments, async () => {
      const handle = await harness.startOrder();
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
    const result = await harness.withWorkers(store, payments, async () => {
      const handle = await harness.startOrder();
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

  it('records the order and then cancels it when the workflow is cancelled while the order is being recorded', async () => {
    const store = new FakeOrderStore();
    const payments = new FakePayments();
    const recording = gate<void>();
    let recordingStarted = false;
    // The first attempts fail (a database outage) and the last is held: the workflow task that runs the local write
    // is heartbeated, and the cancel reaches the workflow in one of those tasks while the write is still open.
    store.beforeCreated = async () => {
      if (store.createAttempts.length <= 3) throw new Error('database unavailable');
      recordingStarted = true;
      await recording.promise;
    };
    // The charge is still in flight when the cancel is handled (the test server mishandles a cancel that races a
    // charge completing); the refund voids it.
    const hold = gate<void>();
    payments.charge = async () => {
      await hold.promise;
      return { status: 'confirmed', paymentId: 'pay_w' };
    };
    payments.refund = async () => ({ status: 'voided', paymentId: 'pay_w' });
    const result = await harness.withWorkers(store, payments, async () => {
      const handle = await harness.startOrder();
      await eventually('the order being recorded', () => (recordingStarted ? true : undefined));
      await handle.cancel();
      try {
        await eventually('the workflow to handle the cancel while the order is being recorded', async () => {
          const events = (await handle.fetchHistory()).events ?? [];
          const requested = events.findIndex((event) => event.workflowExecutionCancelRequestedEventAttributes);
          const handled = events.slice(requested + 1).some((event) => event.workflowTaskCompletedEventAttributes);
          return requested >= 0 && handled ? true : undefined;
        });
      } finally {
        recording.open(); // also when it failed, so the workers can stop
      }
      const view = await handle.result();
      hold.open();
      return view;
    });
    expect(result).toMatchObject({
      state: 'cancelled',
      cancelReason: 'workflow_cancelled',
      payment: { status: 'voided', id: 'pay_w' },
    });
    expect(store.createAttempts.length).toBeGreaterThanOrEqual(4);
    expect(store.createAttempts.every((local) => local)).toBe(true);
    expect(store.created).toHaveLength(1);
    expect(store.path()).toEqual(['created', 'cancelled']);
    expect(payments.refunds).toHaveLength(1);
  });
});
