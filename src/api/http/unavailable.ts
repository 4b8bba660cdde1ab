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

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
}

// Duck-typed rather than `instanceof Error`: errors from Node's sockets may come from another realm (e.g. under jest).
function causes(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let current = error; typeof current === 'object' && current !== null && chain.length < 10;) {
    chain.push(current);
    current = (current as ErrorLike).cause;
  }
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
  return causes(error).some(
    // KnexTimeoutError: knex gave up waiting for a pooled connection (acquireConnectionTimeout).
    ({ name, code }) => name === 'KnexTimeoutError' || (typeof code === 'string' && postgresUnavailableCodes.has(code)),
  );
}
