// Idempotent creates: the Idempotency-Key names the order id, and a fingerprint of the body tells a retry from misuse.
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import type { CreateOrderRequest } from '../schemas/order-input';

// Fixed forever: changing it would give every existing key a different order id.
const IDEMPOTENCY_KEY_NAMESPACE = '3f0e9a52-6c1d-4a8e-9b7f-2d5c8e1a4b60';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

export const idempotencyHeadersSchema = z.object({ [IDEMPOTENCY_KEY_HEADER]: z.string().min(1).max(255).optional() });

/** Same key, same order id, so the key's order is found (in Postgres or Temporal) by id alone. */
export function orderIdForKey(key: string): string {
  return uuidv5(key, IDEMPOTENCY_KEY_NAMESPACE);
}

/** JSON with object keys sorted at every level, so equal requests serialize alike whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of the validated request (defaults applied), so leaving out `currency` and sending `"MYR"` is the same request. */
export function requestFingerprint(request: CreateOrderRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
