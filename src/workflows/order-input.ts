// The checks of what comes into the workflow from outside: its start input and a cancel Update. The API checked both
// already; these hold for every other client (the CLI, the Web UI) and fail with a message naming each broken rule.
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import {
  checkOrder,
  isStorableText,
  ORDER_LIMITS,
  orderWorkflowId,
  uuidPattern,
  type CancelRequest,
  type OrderWorkflowInput,
} from '../domain';

const { cancelReasonLength, cancelRequestIdLength, customerIdLength: subjectLength } = ORDER_LIMITS;

export function validateCancelRequest(request?: CancelRequest): void {
  const { reason, requestId, requestedBy } = request ?? {};
  if (reason !== undefined && !isStorableText(reason, cancelReasonLength)) {
    throw new Error(`reason: must be 1–${cancelReasonLength} characters, none of them NUL`);
  }
  if (requestId !== undefined && !isStorableText(requestId, cancelRequestIdLength)) {
    throw new Error(`requestId: must be 1–${cancelRequestIdLength} characters, none of them NUL`);
  }
  if (requestedBy !== undefined && !isStorableText(requestedBy, subjectLength, 0)) {
    throw new Error(`requestedBy: must be at most ${subjectLength} characters, none of them NUL`);
  }
}

export function validateInput(input: OrderWorkflowInput): OrderWorkflowInput {
  const given = typeof input?.order === 'object' && input.order !== null ? input.order : {};
  const checked = checkOrder(given as unknown as Record<string, unknown>);
  const problems = checked.problems.map((problem) => `order.${problem}`);
  const id: unknown = input?.order?.id;
  if (typeof id !== 'string' || !uuidPattern.test(id) || orderWorkflowId(id) !== workflowInfo().workflowId) {
    problems.push("order.id: must be a UUID, the <uuid> of this workflow's id order-<uuid>");
  }
  const createdAt: unknown = input?.order?.createdAt;
  if (createdAt !== undefined && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))) {
    problems.push('order.createdAt: must be an ISO 8601 time');
  }
  const delay = input?.deliveryDelaySeconds;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    problems.push('deliveryDelaySeconds: must be a number of seconds, 0 or more');
  }
  if (!checked.order || problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid order workflow input: ${problems.join('; ')}`, 'InvalidOrderInput');
  }
  return { order: { ...input.order, ...checked.order }, deliveryDelaySeconds: delay };
}
