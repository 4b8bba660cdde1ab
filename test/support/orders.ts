// An order as the workflow hands it to recordOrderCreated, for tests that write rows without a workflow.
import { randomUUID } from 'node:crypto';
import type { OrderCreatedRecord } from '../../src/domain';

export function newOrderRecord(id: string = randomUUID()): OrderCreatedRecord {
  const at = new Date().toISOString();
  return {
    order: {
      id,
      customerId: 'c-1',
      currency: 'MYR',
      items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
      amount: 2100,
      state: 'created',
      cancelReason: null,
      payment: { status: 'pending', id: null },
      createdAt: at,
      updatedAt: at,
      history: [],
    },
    requestFingerprint: 'fp',
    idempotencyKey: null,
  };
}
