// Orders as the bench makes them: through the API (as clients do) or started straight on Temporal with a chosen
// delivery delay (as README's `temporal workflow start` example does), and counted by state in Postgres.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Db } from '../src/db/knex';
import {
  customerIdSearchAttribute,
  isFinal,
  ORDERS_TASK_QUEUE,
  orderStateSearchAttribute,
  orderWorkflowId,
  orderWorkflowType,
  type OrderState,
} from '../src/domain';
import { type CreateOrderRequest } from '../src/api/schemas/order-input';
import type { orderWorkflow } from '../src/workflows/order';
import { closedLoop, OperationError, postJson } from './load';
import type { OpenLoopSubject } from './open-loop';

/** Every order the bench makes is paid with the always-approved token, so each one goes all the way to delivered. */
export function orderBody(customerId: string, index: number): CreateOrderRequest {
  return {
    customerId,
    items: [
      { sku: 'FUEL-95', quantity: 1 + (index % 5), unitPrice: 1050 },
      { sku: `SNACK-${index % 7}`, quantity: 1, unitPrice: 250 },
    ],
    currency: 'MYR',
    paymentToken: 'tok_approve',
  };
}

/** POST /orders; the new order's id. Anything but 201 is a failure of its own kind (`HTTP 503`). */
/** Where the API is and the operator token the bench calls it with. */
export interface ApiEndpoint {
  url: string;
  token: string;
}

export async function createOrderViaApi(api: ApiEndpoint, body: CreateOrderRequest): Promise<string> {
  // The seed's API (--seed) may take no token.
  const answer = await postJson(`${api.url}/orders`, body, api.token ? { authorization: `Bearer ${api.token}` } : {});
  if (answer.status !== 201) throw new OperationError(`HTTP ${answer.status}`);
  return (JSON.parse(answer.body) as { id: string }).id;
}

/**
 * The order's workflow started directly, with its own delivery delay (the API fixes one per process) and the search
 * attributes the API starts it with.
 */
export async function startOrderWorkflow(
  client: Client,
  body: CreateOrderRequest,
  deliveryDelaySeconds: number,
): Promise<string> {
  const id = randomUUID();
  await client.workflow.start<typeof orderWorkflow>(orderWorkflowType, {
    taskQueue: ORDERS_TASK_QUEUE,
    workflowId: orderWorkflowId(id),
    args: [{ order: { ...body, id }, deliveryDelaySeconds }],
    typedSearchAttributes: [
      { key: orderStateSearchAttribute, value: 'created' },
      { key: customerIdSearchAttribute, value: body.customerId },
    ],
  });
  return id;
}

/** A customer id per measurement, so each one counts only its own orders. */
export function benchCustomer(measurement: string, runId: string): string {
  return `bench-${measurement}-${runId}`;
}

export type StateCounts = Record<OrderState, number>;

export async function stateCounts(db: Db, customerId: string): Promise<StateCounts> {
  const rows: { state: OrderState; n: string | number }[] = await db('orders.orders')
    .where({ customer_id: customerId })
    .groupBy('state')
    .select('state', db.raw('count(*) as n'));
  const counts: StateCounts = { created: 0, confirmed: 0, delivered: 0, cancelled: 0 };
  for (const row of rows) counts[row.state] = Number(row.n);
  return counts;
}

export function finalCount(counts: StateCounts): number {
  return (Object.entries(counts) as [OrderState, number][])
    .filter(([state]) => isFinal(state))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** When each of the customer's orders became final (delivered or cancelled), as its workflow recorded it. */
export async function finalTimes(db: Db, customerId: string): Promise<Map<string, number>> {
  const rows: { id: string; at: Date }[] = await db('orders.orders as o')
    .join('orders.order_events as e', (join) =>
      join.on('e.order_id', 'o.id').andOnVal('e.event', 'transition').andOnIn('e.to_state', ['delivered', 'cancelled']),
    )
    .where('o.customer_id', customerId)
    .select('o.id', 'e.at');
  return new Map(rows.map((row) => [row.id, row.at.getTime()]));
}

/** Polls until `done(counts)`; false when the timeout came first. */
export async function waitForCounts(
  db: Db,
  customerId: string,
  done: (counts: StateCounts) => boolean,
  { timeoutMs, onPoll }: { timeoutMs: number; onPoll?: (counts: StateCounts) => void },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await stateCounts(db, customerId);
    onPoll?.(counts);
    if (done(counts)) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

export interface PacedStart {
  client: Client;
  db: Db;
  customerId: string;
  count: number;
  concurrency: number;
  /** No new order starts after this long. */
  maxMs: number;
  /** The delivery delay of the order about to start. */
  deliveryDelaySeconds: () => number;
  onProgress?: (started: number, confirmed: number) => void;
}

/**
 * Orders started straight on Temporal, never more than a few per lane ahead of the ones the stack has confirmed:
 * starting is cheap and confirming is the stack's work, so each order's timer starts soon after the order does.
 * Resolves with each started order's delivery delay, by id.
 */
export async function startOrdersPaced(opts: PacedStart): Promise<Map<string, number>> {
  const { client, db, customerId, count, concurrency, maxMs, onProgress } = opts;
  const delays = new Map<string, number>();
  let confirmed = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const counts = await stateCounts(db, customerId);
      confirmed = counts.confirmed + counts.delivered;
      onProgress?.(delays.size, confirmed);
      await sleep(200);
    }
  })();
  try {
    await closedLoop({
      concurrency,
      count,
      maxMs,
      operation: async (index) => {
        while (delays.size - confirmed >= concurrency * 2) await sleep(50);
        const delay = opts.deliveryDelaySeconds();
        delays.set(await startOrderWorkflow(client, orderBody(customerId, index), delay), delay);
      },
    });
  } finally {
    polling = false;
    await poller;
  }
  return delays;
}

export function openLoopCustomer(stepLabel: string, runId: string): string {
  return benchCustomer(`open-loop-${stepLabel}`, runId);
}

/** Orders through the API as open-loop arrivals, each step's of a customer of its own. */
export function orderArrivals(api: ApiEndpoint, db: Db, runId: string, deliveryDelayMs: number): OpenLoopSubject {
  return {
    name: 'orders',
    designedDelayMs: deliveryDelayMs,
    step: (label) => {
      const customerId = openLoopCustomer(label, runId);
      return {
        send: (index) => createOrderViaApi(api, orderBody(customerId, index)),
        finalCount: async () => finalCount(await stateCounts(db, customerId)),
        finalTimes: () => finalTimes(db, customerId),
      };
    },
  };
}
