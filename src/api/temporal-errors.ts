// Which Temporal client failures mean "the workflow service cannot be reached right now" (503, retry later).
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

// gRPC status codes DEADLINE_EXCEEDED (4) and UNAVAILABLE (14); @grpc/grpc-js is not a direct dependency.
const unavailableCodes = new Set<number>([4, 14]);

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current instanceof Error && chain.length < 10; current = current.cause) chain.push(current);
  return chain;
}

export function isTemporalUnavailable(error: unknown): boolean {
  return causes(error).some(
    (cause) =>
      cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      (isGrpcServiceError(cause) && unavailableCodes.has(cause.code)),
  );
}
