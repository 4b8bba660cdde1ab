// What logs and metrics name a request by: the route it matched as its template (`/orders/:id/cancel`), never its
// path, which can carry a credential (`/codec/t/<token>/decode`) or a query string (`/console?token=…`).
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';

/** `unmatched` when no route took the request: an unknown path, or one refused before routing (401, 429). */
export function routeTemplate(req: IncomingMessage | Request): string {
  const route = (req as Request).route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}
