// Finding one order: its row, or, until the workflow's first step has written it, the order as accepted in the
// workflow's memo, read with describe, which Temporal answers without a worker.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ORDER_MEMO, orderWorkflowId, type OrderMemo, type OrderState, type OrderView } from '../../domain';
import type { OrderReads } from './order-reads';

function isOrderMemo(value: unknown): value is OrderMemo {
  return typeof value === 'object' && value !== null && 'order' in value && 'requestFingerprint' in value;
}

export function createOrderLookup({ reads, client }: { reads: OrderReads; client: Client }) {
  /** The order as its workflow was started with it; undefined when no workflow of an order has that id. */
  async function findAccepted(id: string): Promise<OrderMemo | undefined> {
    try {
      const { memo } = await client.workflow.getHandle(orderWorkflowId(id)).describe();
      const accepted = memo?.[ORDER_MEMO];
      return isOrderMemo(accepted) ? accepted : undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  return {
    findAccepted,
    async findOrder(id: string): Promise<OrderView | undefined> {
      return (await reads.findOrder(id)) ?? (await findAccepted(id))?.order;
    },
    async findState(id: string): Promise<OrderState | undefined> {
      return (await reads.findState(id)) ?? (await findAccepted(id))?.order.state;
    },
  };
}

export type OrderLookup = ReturnType<typeof createOrderLookup>;
