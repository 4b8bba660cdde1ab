// Driving the system like its clients do: many orders at bounded concurrency, each create safe to retry.
import { randomUUID } from 'node:crypto';
import type { OrderView } from '../../src/domain';
import type { ApiClient, CreateOrderBody } from './api-client';
import { mapConcurrent } from '../../dev/support/map-concurrent';

/** A customer id of its own per scenario, so the audit can find every row a scenario caused, expected or not. */
export function scenarioCustomer(scenario: string): string {
  return `e2e-${scenario}-${randomUUID().slice(0, 8)}`;
}

/** A valid order whose amount varies with `index`, paid with `paymentToken`. */
export function orderBody(customerId: string, paymentToken: string, index = 0): CreateOrderBody {
  return {
    customerId,
    items: [
      { sku: 'FUEL-95', quantity: 1 + (index % 5), unitPrice: 1050 },
      { sku: `SNACK-${index % 7}`, quantity: 1, unitPrice: 250 + index },
    ],
    currency: 'MYR',
    paymentToken,
  };
}

export interface CreatedOrders {
  orders: OrderView[];
  /** Creates answered 503 (or not at all) before a retry with the same Idempotency-Key succeeded. */
  retriedCreates: number;
}

/** Creates one order per body, each with an Idempotency-Key of its own and retried like a careful client would. */
export async function createOrders(
  api: ApiClient,
  bodies: readonly CreateOrderBody[],
  { concurrency, timeoutMs = 120_000 }: { concurrency: number; timeoutMs?: number },
): Promise<CreatedOrders> {
  const deadline = Date.now() + timeoutMs;
  const batch = randomUUID();
  const created = await mapConcurrent(bodies, concurrency, (body, index) =>
    api.createOrderRetrying(body, `${batch}-${index}`, deadline),
  );
  return {
    orders: created.map((c) => c.order),
    retriedCreates: created.reduce((sum, c) => sum + c.failedAttempts, 0),
  };
}

/** Three quarters approved, one quarter declined: both endings, nothing left to chance. */
export function mixedOrders(customerId: string, count: number) {
  return Array.from({ length: count }, (_, i) => orderBody(customerId, i % 4 === 3 ? 'tok_decline' : 'tok_approve', i));
}

/** A deliberate pause while a process is down: the fault itself, not a wait for something to happen. */
export function downtime(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
