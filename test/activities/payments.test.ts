import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createMockGateway, type PaymentGateway } from '../../src/activities/gateway';
import { createPaymentActivities } from '../../src/activities/payments';
import { ORDER_LIMITS, PAYMENT_INVALID_ERROR, type PaymentActivities, type PaymentRequest } from '../../src/domain';
import { gate } from '../support/gate';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../../dev/support/poll';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** Counts the gateway's charges and refunds, so a test can prove each happened once. */
function countingGateway(inner: PaymentGateway) {
  const counts = { charges: 0, refunds: 0 };
  const gateway: PaymentGateway = {
    async charge(charge) {
      counts.charges += 1;
      return inner.charge(charge);
    },
    async refund(refund) {
      counts.refunds += 1;
      return inner.refund(refund);
    },
  };
  return { gateway, counts };
}

function paymentsWith(gateway: PaymentGateway): PaymentActivities {
  return createPaymentActivities({ db: database.db, gateway });
}

const alwaysApprove = () => createMockGateway({ approvalRate: 1, failureRate: 0, delayMs: 0 });

function paymentRequest(paymentToken = 'tok_visa'): PaymentRequest {
  return { orderId: randomUUID(), customerId: 'c-1', amount: 2100, currency: 'MYR', paymentToken };
}

const paymentRow = (orderId: string) => database.db('payments.payments').where({ order_id: orderId }).first();

describe('payment activities', () => {
  it('stores the longest customer id the order rules allow', async () => {
    const request = { ...paymentRequest(), customerId: 'c'.repeat(ORDER_LIMITS.customerIdLength) };
    await paymentsWith(alwaysApprove()).processPayment(request);
    expect(await paymentRow(request.orderId)).toMatchObject({ customer_id: request.customerId });
  });

  it('charges once per order: a repeated call returns the first result without a second charge', async () => {
    const { gateway, counts } = countingGateway(alwaysApprove());
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    const first = await payments.processPayment(request);
    const again = await payments.processPayment(request);
    expect(first.status).toBe('confirmed');
    expect(again).toEqual(first);
    expect(counts.charges).toBe(1);
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'confirmed', amount: 2100 });
  });

  it('charges once when duplicate calls for the same order run concurrently', async () => {
    const { gateway, counts } = countingGateway(createMockGateway({ approvalRate: 1, failureRate: 0, delayMs: 20 }));
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    const results = await Promise.all(Array.from({ length: 8 }, () => payments.processPayment(request)));
    expect(new Set(results.map((r) => r.paymentId)).size).toBe(1);
    expect(counts.charges).toBe(1);
  });

  it('answers the fixed test tokens: tok_approve confirms, tok_decline declines', async () => {
    const payments = paymentsWith(createMockGateway({ approvalRate: 0.5, failureRate: 0, delayMs: 0 }));
    expect((await payments.processPayment(paymentRequest('tok_approve'))).status).toBe('confirmed');
    expect((await payments.processPayment(paymentRequest('tok_decline'))).status).toBe('declined');
  });

  it('approves other tokens with the configured approval rate', async () => {
    const always = paymentsWith(createMockGateway({ approvalRate: 1, failureRate: 0, delayMs: 0 }));
    const never = paymentsWith(createMockGateway({ approvalRate: 0, failureRate: 0, delayMs: 0 }));
    const half = paymentsWith(createMockGateway({ approvalRate: 0.5, failureRate: 0, delayMs: 0 }));
    expect((await always.processPayment(paymentRequest())).status).toBe('confirmed');
    expect((await never.processPayment(paymentRequest())).status).toBe('declined');
    const results = await Promise.all(Array.from({ length: 400 }, () => half.processPayment(paymentRequest())));
    const share = results.filter((r) => r.status === 'confirmed').length / results.length;
    // 400 draws at p = 0.5: a share outside 0.35–0.65 is six standard deviations away.
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  });

  it('rejects tok_invalid and malformed tokens as non-retryable invalid payments, and keeps rejecting on retry', async () => {
    const payments = paymentsWith(alwaysApprove());
    const request = paymentRequest('tok_invalid');
    for (const attempt of [request, request, paymentRequest('visa; DROP TABLE')]) {
      const failure = await payments.processPayment(attempt).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: PAYMENT_INVALID_ERROR, nonRetryable: true });
    }
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'invalid' });
  });

  it('charges the retry of a failed attempt under the same payment id, so the gateway can tell it is a repeat', async () => {
    let calls = 0;
    const flaky = createMockGateway({
      approvalRate: 1,
      failureRate: 0.5,
      delayMs: 0,
      random: () => (calls++ === 0 ? 0 : 0.9),
    });
    const charged: string[] = [];
    const payments = paymentsWith({
      charge: (charge) => {
        charged.push(charge.paymentId);
        return flaky.charge(charge);
      },
      refund: flaky.refund,
    });
    const request = paymentRequest();
    await expect(payments.processPayment(request)).rejects.toThrow(/unavailable/);
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'pending', payment_id: charged[0] });
    const retried = await payments.processPayment(request);
    expect(retried).toEqual({ status: 'confirmed', paymentId: charged[0] });
    expect(charged).toEqual([charged[0], charged[0]]);
  });

  it('gives a repeated charge under one payment id the same answer at the mock gateway', async () => {
    const gateway = createMockGateway({ approvalRate: 0.5, failureRate: 0, delayMs: 0 });
    for (const paymentId of Array.from({ length: 20 }, () => `pay_${randomUUID()}`)) {
      const charge = { paymentId, token: 'tok_visa', amount: 1, currency: 'MYR' };
      expect(await gateway.charge(charge)).toEqual(await gateway.charge(charge));
    }
  });

  it('voids a payment whose charge attempt never got an answer, and refuses a charge that arrives later', async () => {
    const { gateway, counts } = countingGateway(
      createMockGateway({ approvalRate: 1, failureRate: 0.5, delayMs: 0, random: () => 0 }),
    );
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    await expect(payments.processPayment(request)).rejects.toThrow(/unavailable/);
    const healthy = paymentsWith(alwaysApprove());
    expect((await healthy.refundPayment(request)).status).toBe('voided');
    expect((await healthy.processPayment(request)).status).toBe('voided');
    expect(counts.charges).toBe(1);
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'voided' });
  });

  it('refunds a confirmed payment once, however often the refund is repeated', async () => {
    const { gateway, counts } = countingGateway(alwaysApprove());
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    const charged = await payments.processPayment(request);
    const refunds = await Promise.all(Array.from({ length: 5 }, () => payments.refundPayment(request)));
    expect(refunds).toEqual(Array(5).fill({ status: 'refunded', paymentId: charged.paymentId }));
    expect(counts.refunds).toBe(1);
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'refunded' });
  });

  it('does not refund a declined payment', async () => {
    const { gateway, counts } = countingGateway(alwaysApprove());
    const payments = paymentsWith(gateway);
    const request = paymentRequest('tok_decline');
    await payments.processPayment(request);
    expect((await payments.refundPayment(request)).status).toBe('declined');
    expect(counts.refunds).toBe(0);
  });

  it('voids the payment of an order cancelled before any charge, and refuses a charge that arrives later', async () => {
    const { gateway, counts } = countingGateway(alwaysApprove());
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    expect((await payments.refundPayment(request)).status).toBe('voided');
    expect((await payments.processPayment(request)).status).toBe('voided');
    expect(counts.charges).toBe(0);
    expect(await paymentRow(request.orderId)).toMatchObject({ status: 'voided' });
  });

  it('makes a refund wait for a charge in flight, then refunds what it charged', async () => {
    const hold = gate<void>();
    let charging = false;
    const slow: PaymentGateway = {
      async charge() {
        charging = true;
        await hold.promise;
        return { outcome: 'confirmed', reference: 'gw_slow' };
      },
      async refund() {},
    };
    const { gateway, counts } = countingGateway(slow);
    const payments = paymentsWith(gateway);
    const request = paymentRequest();
    const charge = payments.processPayment(request);
    await eventually('the charge to reach the gateway', () => (charging ? true : undefined));
    const refund = payments.refundPayment(request);
    hold.open();
    expect((await charge).status).toBe('confirmed');
    expect((await refund).status).toBe('refunded');
    expect(counts.refunds).toBe(1);
  });
});
