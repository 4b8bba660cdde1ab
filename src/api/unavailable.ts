// Which failures mean "a dependency cannot be reached right now": the API answers 503 (retry later), not 500.
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

// gRPC status codes DEADLINE_EXCEEDED (4) and UNAVAILABLE (14); @grpc/grpc-js is not a direct dependency.
const temporalUnavailableCodes = new Set<number>([4, 14]);

// Socket errors, and Postgres SQLSTATEs for "no connection" (class 08), shutdown or start-up (57P0x), no free slot.
const postgresUnavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current instanceof Error && chain.length < 10; current = current.cause) chain.push(current);
  return chain;
}

export function isTemporalUnavailable(error: unknown): boolean {
  return causes(error).some(
    (cause) =>
      cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      (isGrpcServiceError(cause) && temporalUnavailableCodes.has(cause.code)),
  );
}

export function isPostgresUnavailable(error: unknown): boolean {
  return causes(error).some((cause) => {
    if (!(cause instanceof Error)) return false;
    // knex gives up waiting for a pooled connection (acquireConnectionTimeout).
    if (cause.name === 'KnexTimeoutError') return true;
    const { code } = cause as { code?: unknown };
    return typeof code === 'string' && postgresUnavailableCodes.has(code);
  });
}
