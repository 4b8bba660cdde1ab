// Cancelling an order: decide from the recorded state, signal the workflow only when the cancel can still matter.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { cancelOutcome, cancelSignal, orderWorkflowId, type CancelOrderRequest, type OrderView } from '../domain';
import type { OrderReads } from './order-reads';

export type CancelResult =
  | { outcome: 'signalled'; order: OrderView }
  | { outcome: 'already_cancelled'; order: OrderView }
  | { outcome: 'delivered'; order: OrderView }
  /** The workflow ended without reaching a final state (e.g. terminated by an operator). */
  | { outcome: 'not_cancellable'; order: OrderView }
  | { outcome: 'not_found' };

/** The answer for an order the state machine says a cancel can no longer change, else undefined. */
function settled(order: OrderView): CancelResult | undefined {
  if (cancelOutcome(order.state) !== 'rejected') return undefined;
  return order.state === 'cancelled' ? { outcome: 'already_cancelled', order } : { outcome: 'delivered', order };
}

export interface CancelOrderDeps {
  client: Client;
  reads: OrderReads;
  signalTimeoutMs: number;
}

export function cancelOrderCommand({ client, reads, signalTimeoutMs }: CancelOrderDeps) {
  return async function cancelOrder(id: string, request: CancelOrderRequest): Promise<CancelResult> {
    const order = await reads.findOrder(id);
    if (!order) return { outcome: 'not_found' };
    const final = settled(order);
    if (final) return final;
    try {
      await client.withDeadline(Date.now() + signalTimeoutMs, () =>
        client.workflow.getHandle(orderWorkflowId(id)).signal(cancelSignal, request),
      );
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // The workflow closed since the read (say, the order was just delivered); its final state is recorded.
      const current = (await reads.findOrder(id)) ?? order;
      return settled(current) ?? { outcome: 'not_cancellable', order: current };
    }
    return { outcome: 'signalled', order: (await reads.findOrder(id)) ?? order };
  };
}

export type CancelOrder = ReturnType<typeof cancelOrderCommand>;
