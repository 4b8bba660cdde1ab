// Creating an order: start its workflow and answer once Temporal has persisted the start, not once a worker has run.
//
// * The workflow start is the commit point: from then on the order cannot be lost, and its memo holds the order as
//   accepted, so GET finds it (through describe) before the workflow's first step has written its row.
// * With an Idempotency-Key the order id is a UUID v5 of the key, so every request with that key addresses the same
//   workflow `order-<id>`; Temporal's workflow-id uniqueness makes a second order impossible. The request whose start
//   succeeded created the order; one whose start finds the workflow already there is a replay, or a 409 when the
//   memo's fingerprint (sha256 of the validated body) is another request's.
// * A keyed request first looks for the order's row: it outlives the workflow's retention, after which Temporal
//   would accept the same id again.
// * A start whose answer was lost (Temporal slow or unreachable) is looked up before answering: found, it is the
//   201 it would have been; not found, 503 says to retry with the Idempotency-Key, which the API chose when the
//   client gave none, so that the retry cannot order twice.
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  acceptedOrder,
  customerIdSearchAttribute,
  ORDER_MEMO,
  ORDERS_TASK_QUEUE,
  orderStateSearchAttribute,
  workflowSummary,
  orderWorkflowId,
  orderWorkflowType,
  type OrderMemo,
  type OrderView,
} from '../../domain';
import { type CreateOrderRequest } from '../schemas/order-input';
import type { orderWorkflow } from '../../workflows/order';
import type { Backlog } from './backlog';
import { orderIdForKey, requestFingerprint } from './idempotency';
import type { OrderLookup } from '../reads/order-lookup';
import type { OrderReads } from '../reads/order-reads';
import { isTemporalUnavailable } from '../http/unavailable';

export interface CreatedOrder {
  order: OrderView;
  /** True when an earlier request with the same Idempotency-Key created the order. */
  replayed: boolean;
}

/** The Idempotency-Key was used before with a different request body. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}

/** More orders wait to be processed than the API may add to; nothing was created. */
export class BacklogFullError extends Error {
  override name = 'BacklogFullError';
  constructor(readonly retryAfterSeconds: number) {
    super('too many orders are waiting to be processed');
  }
}

/** Temporal did not answer the start in time and the order was not found: retrying with `idempotencyKey` is safe. */
export class OrderNotAcceptedError extends Error {
  override name = 'OrderNotAcceptedError';
  constructor(
    readonly idempotencyKey: string,
    options: { cause: unknown },
  ) {
    super('Temporal did not accept the order in time', options);
  }
}

export interface CreateOrderDeps {
  client: Client;
  reads: OrderReads;
  lookup: OrderLookup;
  backlog: Backlog;
  deliveryDelaySeconds: number;
  /** How long the start may take before the API looks the order up and answers. */
  startTimeoutMs: number;
}

export function createOrderCommand({
  client,
  reads,
  lookup,
  backlog,
  deliveryDelaySeconds,
  startTimeoutMs,
}: CreateOrderDeps) {
  /** The order as an earlier request created it: from its row, else from its workflow's memo; undefined when none. */
  async function findExisting(id: string, fingerprint: string): Promise<CreatedOrder | undefined> {
    const recorded = await reads.findRequestFingerprint(id);
    if (recorded !== undefined) {
      if (recorded !== fingerprint) throw new IdempotencyConflictError(`order ${id} was created from another request`);
      const order = await reads.findOrder(id);
      if (order) return { order, replayed: true };
    }
    const memo = await lookup.findAccepted(id);
    if (!memo) return undefined;
    if (memo.requestFingerprint !== fingerprint) {
      throw new IdempotencyConflictError(`order ${id} was created from another request`);
    }
    return { order: (await reads.findOrder(id)) ?? memo.order, replayed: true };
  }

  async function start(order: OrderView, request: CreateOrderRequest, memo: OrderMemo, idempotencyKey?: string) {
    await client.withDeadline(Date.now() + startTimeoutMs, () =>
      client.workflow.start<typeof orderWorkflow>(orderWorkflowType, {
        workflowId: orderWorkflowId(order.id),
        taskQueue: ORDERS_TASK_QUEUE,
        args: [
          {
            order: {
              ...request,
              id: order.id,
              createdAt: order.createdAt,
              requestFingerprint: memo.requestFingerprint,
              idempotencyKey,
            },
            deliveryDelaySeconds,
          },
        ],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { [ORDER_MEMO]: memo },
        staticSummary: workflowSummary(order),
        typedSearchAttributes: [
          { key: orderStateSearchAttribute, value: 'created' },
          { key: customerIdSearchAttribute, value: order.customerId },
        ],
      }),
    );
  }

  return async function createOrder(request: CreateOrderRequest, idempotencyKey?: string): Promise<CreatedOrder> {
    const fingerprint = requestFingerprint(request);
    const key = idempotencyKey ?? randomUUID();
    const id = orderIdForKey(key);
    if (idempotencyKey !== undefined) {
      const existing = await findExisting(id, fingerprint);
      if (existing) return existing;
    }
    const retryAfterSeconds = await backlog.retryAfterSeconds();
    if (retryAfterSeconds !== undefined) throw new BacklogFullError(retryAfterSeconds);

    const order = acceptedOrder({ ...request, id, createdAt: new Date().toISOString() });
    const memo: OrderMemo = { order, requestFingerprint: fingerprint };
    try {
      await start(order, request, memo, idempotencyKey);
      backlog.added();
      return { order, replayed: false };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        const existing = await findExisting(id, fingerprint);
        if (existing) return existing;
        throw new Error(`order ${id} has a workflow that holds no order`, { cause: error });
      }
      if (!isTemporalUnavailable(error)) throw error;
      // The start may have been persisted after all: then this request created the order.
      const landed = await lookup.findAccepted(id).catch(() => undefined);
      if (landed?.requestFingerprint === fingerprint) return { order: landed.order, replayed: false };
      throw new OrderNotAcceptedError(key, { cause: error });
    }
  };
}

export type CreateOrder = ReturnType<typeof createOrderCommand>;
