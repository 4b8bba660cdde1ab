// Creating an order: start its workflow and wait until the workflow has recorded it, so 201 is true.
//
// Idempotency, and telling "this request created it" from "another request did":
// * With an Idempotency-Key the order id is a UUID v5 of the key, so every request with that key addresses the same
//   workflow `order-<id>`; Temporal's workflow-id uniqueness is what makes a second order impossible.
// * Each request's body is fingerprinted (sha256 of the validated body); the workflow keeps the starting request's
//   fingerprint and returns it from the `orderRecorded` update. A different fingerprint means the key was reused
//   for another request: 409.
// * A request that finds the order already in Postgres is a replay and does not touch Temporal.
// * Otherwise update-with-start (USE_EXISTING) either starts the workflow or joins the running one. Each request puts
//   a fresh nonce in the start's memo; only the request whose start won sees its own nonce on the workflow, so of two
//   concurrent identical requests exactly one answers as the creator and the other as `Idempotent-Replayed`.
// * A closed workflow cannot be joined (REJECT_DUPLICATE answers "already started"); its order is in Postgres.
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  customerIdSearchAttribute,
  orderAmount,
  ORDERS_TASK_QUEUE,
  orderRecordedUpdate,
  orderStateSearchAttribute,
  orderSummary,
  orderWorkflowId,
  orderWorkflowType,
  type CreateOrderRequest,
  type OrderView,
} from '../domain';
import type { orderWorkflow } from '../workflows/order';
import { orderIdForKey, requestFingerprint } from './idempotency';
import type { OrderReads } from './order-reads';

export interface CreatedOrder {
  order: OrderView;
  /** True when an earlier request with the same Idempotency-Key created the order. */
  replayed: boolean;
}

/** The Idempotency-Key was used before with a different request body. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}

export interface CreateOrderDeps {
  client: Client;
  reads: OrderReads;
  deliveryDelaySeconds: number;
  /** How long to wait for the workflow to record the order before answering 503 (a retry with the key is safe). */
  recordTimeoutMs: number;
}

const STARTED_BY_MEMO = 'startedByRequest';

export function createOrderCommand({ client, reads, deliveryDelaySeconds, recordTimeoutMs }: CreateOrderDeps) {
  async function findRecorded(id: string, fingerprint: string): Promise<CreatedOrder | undefined> {
    const recorded = await reads.findRequestFingerprint(id);
    if (recorded === undefined) return undefined;
    if (recorded !== fingerprint) throw new IdempotencyConflictError(`order ${id} was created from another request`);
    const order = await reads.findOrder(id);
    return order && { order, replayed: true };
  }

  async function startOrder(
    id: string,
    request: CreateOrderRequest,
    fingerprint: string,
    idempotencyKey: string | undefined,
  ): Promise<CreatedOrder> {
    const nonce = randomUUID();
    const start = new WithStartWorkflowOperation<typeof orderWorkflow>(orderWorkflowType, {
      workflowId: orderWorkflowId(id),
      taskQueue: ORDERS_TASK_QUEUE,
      args: [{ order: { ...request, id, requestFingerprint: fingerprint, idempotencyKey }, deliveryDelaySeconds }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { [STARTED_BY_MEMO]: nonce },
      staticSummary: orderSummary({ ...request, amount: orderAmount(request.items) }),
      typedSearchAttributes: [
        { key: orderStateSearchAttribute, value: 'created' },
        { key: customerIdSearchAttribute, value: request.customerId },
      ],
    });
    const receipt = await client.withDeadline(Date.now() + recordTimeoutMs, () =>
      client.workflow.executeUpdateWithStart(orderRecordedUpdate, { startWorkflowOperation: start }),
    );
    if (receipt.requestFingerprint !== fingerprint) {
      throw new IdempotencyConflictError(`order ${id} was created from another request`);
    }
    // Without a key the id is fresh, so this request started the workflow.
    if (idempotencyKey === undefined) return { order: receipt.order, replayed: false };
    const { memo } = await (await start.workflowHandle()).describe();
    return { order: receipt.order, replayed: memo?.[STARTED_BY_MEMO] !== nonce };
  }

  return async function createOrder(request: CreateOrderRequest, idempotencyKey?: string): Promise<CreatedOrder> {
    const fingerprint = requestFingerprint(request);
    if (idempotencyKey === undefined) return startOrder(randomUUID(), request, fingerprint, undefined);
    const id = orderIdForKey(idempotencyKey);
    const recorded = await findRecorded(id, fingerprint);
    if (recorded) return recorded;
    try {
      return await startOrder(id, request, fingerprint, idempotencyKey);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const closed = await findRecorded(id, fingerprint);
      if (closed) return closed;
      throw new IdempotencyConflictError(`order ${id} already exists but was never recorded`);
    }
  };
}

export type CreateOrder = ReturnType<typeof createOrderCommand>;
