// One order's life: record it, charge it, then deliver it after a durable timer or cancel it and refund.
// Set up (check the input, take the order as accepted, register the handlers), then tell the story top to bottom.
// Its steps (order-steps.ts) commit every decision through the order's row; the cancel requests and what became of
// each are kept by one unit (cancel-requests.ts).
import { CancellationScope, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  acceptedOrder,
  cancelReasons,
  cancelSignal,
  cancelUpdate,
  mayHaveCharged,
  statusQuery,
  type OrderView,
  type OrderWorkflowInput,
} from '../domain';
import { CancelRequests } from './cancel-requests';
import { validateCancelRequest, validateInput } from './order-input';
import { OrderSteps } from './order-steps';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const { order, deliveryDelaySeconds } = validateInput(input);
  const view = acceptedOrder({ ...order, createdAt: order.createdAt ?? workflowInfo().runStartTime.toISOString() });
  const cancels = new CancelRequests(view);
  const steps = new OrderSteps(order, view, cancels);

  setHandler(statusQuery, () => view);
  setHandler(cancelUpdate, (request) => cancels.request(request ?? {}), { validator: validateCancelRequest });
  setHandler(cancelSignal, (request) => void cancels.request(request ?? {}));
  // Cancelling the workflow itself (say from the Web UI) is a cancel request like the others, not an abandoned order.
  CancellationScope.current().cancelRequested.catch(
    () => void cancels.request({ reason: cancelReasons.workflowCancelled }),
  );

  // Cleanup after a cancel must finish even when the workflow itself is being cancelled: the story cannot be cut short.
  await CancellationScope.nonCancellable(async () => {
    await steps.record();
    await steps.decideOnPayment(await steps.chargeUnlessCancelled());
    if (view.state === 'confirmed') await steps.deliverOrCancel(deliveryDelaySeconds);
    if (view.state === 'cancelled' && mayHaveCharged(view)) await steps.refund();
    await steps.writeRejectedCancels();
  });
  return view;
}
