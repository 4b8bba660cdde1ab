import { checkOrder } from '../../src/domain';
import { createOrderSchema } from '../../src/api/schemas/order-input';

const valid = { customerId: 'c-1', items: [{ sku: 'A', quantity: 1, unitPrice: 0 }] };
const item = valid.items[0];

const samples: Record<string, unknown>[] = [
  valid,
  { ...valid, currency: 'EUR', paymentToken: 'tok_approve' },
  {
    ...valid,
    items: Array.from({ length: 100 }, () => ({ sku: 'x'.repeat(64), quantity: 1000, unitPrice: 1_000_000_000 })),
  },
  { ...valid, customerId: '' },
  { ...valid, customerId: 'c'.repeat(65) },
  { ...valid, customerId: 42 },
  { ...valid, customerId: 'c\u0000' },
  { ...valid, items: [] },
  { ...valid, items: Array.from({ length: 101 }, () => item) },
  { ...valid, items: 'many' },
  { ...valid, items: [null] },
  { ...valid, items: [{ ...item, sku: '' }] },
  { ...valid, items: [{ ...item, sku: 'A\u0000B' }] },
  { ...valid, items: [{ ...item, quantity: 0 }] },
  { ...valid, items: [{ ...item, quantity: 1.5 }] },
  { ...valid, items: [{ ...item, quantity: 1001 }] },
  { ...valid, items: [{ ...item, unitPrice: -1 }] },
  { ...valid, items: [{ ...item, unitPrice: 1_000_000_001 }] },
  { ...valid, items: [{ ...item, unitPrice: '5' }] },
  { ...valid, currency: 'myr' },
  { ...valid, currency: 'MYRR' },
  { ...valid, paymentToken: 'visa' },
  { ...valid, paymentToken: `tok_${'a'.repeat(61)}` },
  { ...valid, paymentToken: "tok_'; DROP TABLE orders;--" },
];

describe('the order rules of the workflow sandbox', () => {
  it.each(samples.map((sample, index) => [index, sample]))(
    'agree with the API schema on sample %i',
    (_index, sample) => {
      const schema = createOrderSchema.safeParse(sample);
      const checked = checkOrder(sample as Record<string, unknown>);
      expect(checked.problems.length === 0).toBe(schema.success);
      if (schema.success) expect(checked.order).toEqual(schema.data);
    },
  );
});
