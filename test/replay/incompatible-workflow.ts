// orderWorkflow as a release that histories of earlier builds cannot replay: it marks the order `created` in its
// search attributes before the first write, a command the earlier code never issued there. For an order it changes
// nothing (the API set that attribute when it started the workflow), so it is a working build: the e2e tier ships it
// as v2 beside v1 (PINNED orders of each finish on their own build), and the replay tier proves that v1's histories,
// and the unversioned ones, refuse it.
import { upsertSearchAttributes } from '@temporalio/workflow';
import { orderStateSearchAttribute, type OrderView, type OrderWorkflowInput } from '../../src/domain';
import { orderWorkflow as released } from '../../src/workflows';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  upsertSearchAttributes([{ key: orderStateSearchAttribute, value: 'created' }]);
  return released(input);
}
