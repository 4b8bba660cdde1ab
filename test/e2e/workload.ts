// Driving the system like its clients do: many orders at bounded concurrency, then waiting for them to finish.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/knex';
import { orderStates, isFinal, type OrderState, type OrderView } from '../../src/domain';
import { eventually } from '../support/poll';
import type { ApiClient, CreateOrderBody } from './api-client';

const finalStates = orderStates.filter(isFinal);

/** Runs `work` over `items` with at most `concurrency` calls in flight; results keep the items' order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

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

export async function statesOf(db: Db, ids: readonly string[]): Promise<Map<string, OrderState>> {
  const rows: { id: string; state: OrderState }[] = await db('orders.orders').whereIn('id', ids).select('id', 'state');
  return new Map(rows.map((row) => [row.id, row.state]));
}

/** Polls Postgres until every order is delivered or cancelled; resolves with the milliseconds it took. */
export async function waitUntilAllFinal(db: Db, ids: readonly string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  let unfinished: string[] = [...ids];
  await eventually(
    `${ids.length} orders to reach a final state`,
    async () => {
      const states = await statesOf(db, unfinished);
      unfinished = unfinished.filter((id) => !finalStates.includes(states.get(id) ?? 'created'));
      return unfinished.length === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; still unfinished: ${unfinished.slice(0, 20).join(', ')}`);
  });
  return Date.now() - started;
}

/** Polls until at least `count` of the orders are in `state`. */
export function waitUntilCount(db: Db, ids: readonly string[], state: OrderState, count: number, timeoutMs = 30_000) {
  return eventually(
    `${count} of ${ids.length} orders to be ${state}`,
    async () => {
      const states = await statesOf(db, ids);
      return [...states.values()].filter((s) => s === state).length >= count ? true : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** A deliberate pause while a process is down: the fault itself, not a wait for something to happen. */
export function downtime(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** When each order made its move into `state`, from its recorded history (epoch ms). */
export async function transitionTimes(db: Db, ids: readonly string[], state: OrderState): Promise<Map<string, number>> {
  const rows: { order_id: string; at: Date }[] = await db('orders.order_events')
    .whereIn('order_id', ids)
    .where({ event: 'transition', to_state: state })
    .select('order_id', 'at');
  return new Map(rows.map((row) => [row.order_id, row.at.getTime()]));
}

/** Transactions held open in the orders database: payments hold theirs across the gateway call. */
export async function openTransactions(db: Db): Promise<number> {
  const [row] = await db('pg_stat_activity')
    .where({ datname: 'orders', state: 'idle in transaction' })
    .count<{ n: string }[]>({ n: '*' });
  return Number(row.n);
}
