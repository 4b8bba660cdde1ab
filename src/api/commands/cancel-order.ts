// Cancelling an order: the workflow decides from its own state (the Update `cancel`), and its decision is the answer.
// When no worker answers in time, the same request goes as the signal `cancel`, which Temporal keeps until a worker
// decides it; the request id makes the two count once. docs/http-api.md lists the answers.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { cancelSignal, cancelUpdate, orderWorkflowId, type CancelRequest, type OrderView } from '../../domain';
import { type CancelOrderRequest } from '../schemas/order-input';
import type { OrderLookup } from '../reads/order-lookup';
import { isTemporalUnavailable } from '../http/unavailable';

export type CancelResult =
  | { status: 'accepted' | 'rejected' | 'pending'; order: OrderView }
  /** The workflow ended without reaching a final state (e.g. terminated by an operator): nothing can decide it. */
  | { status: 'closed'; order: OrderView }
  | { status: 'not_found' };

export interface CancelOrderDeps {
  client: Client;
  lookup: OrderLookup;
  /** How long a worker has to decide before the request is kept as a signal and answered `pending`. */
  decisionTimeoutMs: number;
}

export function cancelOrderCommand({ client, lookup, decisionTimeoutMs }: CancelOrderDeps) {
  /** The answer for an order whose workflow has closed: its row says how it ended. */
  async function fromRecord(id: string): Promise<CancelResult> {
    const order = await lookup.findOrder(id);
    if (!order) return { status: 'not_found' };
    if (order.state === 'cancelled') return { status: 'accepted', order };
    if (order.state === 'delivered') return { status: 'rejected', order };
    return { status: 'closed', order };
  }

  return async function cancelOrder(
    id: string,
    request: CancelOrderRequest & { requestedBy: string },
  ): Promise<CancelResult> {
    const message: CancelRequest = { ...request, requestId: randomUUID() };
    const handle = client.workflow.getHandle(orderWorkflowId(id));
    try {
      const decision = await client.withDeadline(Date.now() + decisionTimeoutMs, () =>
        handle.executeUpdate(cancelUpdate, { args: [message], updateId: message.requestId }),
      );
      return decision;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return fromRecord(id);
      if (!isTemporalUnavailable(error)) throw error;
    }
    // No decision in time: keep the request durably, to be decided when a worker takes it.
    try {
      await client.withDeadline(Date.now() + decisionTimeoutMs, () => handle.signal(cancelSignal, message));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return fromRecord(id);
      throw error;
    }
    const order = await lookup.findOrder(id);
    return order ? { status: 'pending', order } : { status: 'not_found' };
  };
}

export type CancelOrder = ReturnType<typeof cancelOrderCommand>;
