// What the scenarios watch while faults play out: order states and transition times as Postgres records them.
import type { Db } from '../../src/db/knex';
import { isFinal, orderStates, type OrderState } from '../../src/domain';
import { eventually } from '../../dev/support/poll';

const finalStates = orderStates.filter(isFinal);

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

/** Waits until at least `min` orders wait on their payment and `min` on their delivery timer; the states then. */
export function waitUntilMidFlight(db: Db, ids: readonly string[], min = 5): Promise<Map<string, OrderState>> {
  return eventually(
    `${min} orders waiting on payment and ${min} on the delivery timer`,
    async () => {
      const states = await statesOf(db, ids);
      const count = (state: OrderState) => ids.filter((id) => states.get(id) === state).length;
      return count('created') >= min && count('confirmed') >= min ? states : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}

/** Orders in `state` in a snapshot of states. */
export const inState = (states: Map<string, OrderState>, state: OrderState): string[] =>
  [...states].filter(([, s]) => s === state).map(([id]) => id);

export interface Delivery {
  id: string;
  /** When the delivery timer fell due: confirmed at + the delivery delay. */
  dueAt: number;
  deliveredAt: number | undefined;
  /** How long after it could first happen (due, and the fault repaired) it did happen. */
  lateMs: number;
}

/** The delivery of each order against its timer, for orders that waited on it while `repairedAt` had not come. */
export async function deliveriesAfter(
  db: Db,
  ids: readonly string[],
  repairedAt: number,
  delaySeconds: number,
): Promise<Delivery[]> {
  const [confirmedAt, deliveredAt] = await Promise.all([
    transitionTimes(db, ids, 'confirmed'),
    transitionTimes(db, ids, 'delivered'),
  ]);
  return ids.map((id) => {
    const dueAt = (confirmedAt.get(id) ?? 0) + delaySeconds * 1000;
    const at = deliveredAt.get(id);
    return { id, dueAt, deliveredAt: at, lateMs: at === undefined ? Infinity : at - Math.max(repairedAt, dueAt) };
  });
}

/** Deliveries that never happened or came before their timer. */
export const mistimed = (deliveries: Delivery[]) =>
  deliveries.filter((d) => d.deliveredAt === undefined || d.deliveredAt < d.dueAt);

export const maxLateSeconds = (deliveries: Delivery[]) =>
  (Math.max(0, ...deliveries.map((d) => d.lateMs)) / 1000).toFixed(1);
