// One order seen three ways: the API (GET /orders/:id and /status), the workflow's `status` query, the Postgres row.
import { isDeepStrictEqual } from 'node:util';
import type { Client } from '@temporalio/client';
import { orderWorkflowId, statusQuery, type OrderView } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import type { ApiClient } from './api-client';
import type { Finding, OrderRow } from './audit-rules';

/** Differences between two order views, by field. */
function viewDifferences(a: OrderView, b: OrderView): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof OrderView)[]);
  return [...keys]
    .filter((key) => !isDeepStrictEqual(a[key], b[key]))
    .map((key) => `${key}: ${JSON.stringify(a[key])} vs ${JSON.stringify(b[key])}`);
}

/** Waits for the order's workflow to close (it records rejected cancels after the final state), then compares. */
export async function checkViews(
  { api, client }: { api: ApiClient; client: Client },
  row: OrderRow,
  settleTimeoutMs: number,
): Promise<Finding[]> {
  const problem = (what: string): Finding => ({ kind: 'problem', text: `order ${row.id}: ${what}` });
  const handle = client.workflow.getHandle(orderWorkflowId(row.id));
  const closed = await eventually(
    `workflow of order ${row.id} to close`,
    async () => {
      const { status } = await handle.describe();
      return status.name === 'RUNNING' ? undefined : status.name;
    },
    { timeoutMs: settleTimeoutMs, intervalMs: 200 },
  ).catch((error: Error) => error.message);
  if (closed !== 'COMPLETED') return [problem(`workflow is not completed: ${closed}`)];
  const [apiView, workflowView, statusAnswer] = await Promise.all([
    api.getOrder(row.id),
    handle.query(statusQuery),
    api.send(`/orders/${row.id}/status`),
  ]);
  if (!apiView) return [problem('GET /orders/:id answers 404')];
  const found = viewDifferences(apiView, workflowView).map((d) => problem(`API vs workflow query: ${d}`));
  const fromRow = {
    state: row.state,
    cancelReason: row.cancel_reason,
    payment: { status: row.payment_status, id: row.payment_id },
    amount: row.amount,
  };
  const { state, cancelReason, payment, amount } = apiView;
  const fromApi = { state, cancelReason, payment, amount };
  if (!isDeepStrictEqual(fromApi, fromRow)) {
    found.push(problem(`API ${JSON.stringify(fromApi)} vs row ${JSON.stringify(fromRow)}`));
  }
  const status: unknown = JSON.parse(statusAnswer.text);
  if (!isDeepStrictEqual(status, { id: row.id, state: row.state })) {
    found.push(problem(`GET /orders/:id/status answers ${statusAnswer.text}`));
  }
  return found;
}
