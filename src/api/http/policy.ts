// Who may see and do what (docs/http-api.md, "Who may call"): an operator everything; a customer creates, lists,
// reads and cancels only its own orders, and someone else's order is answered as if it did not exist. Pure: the routes
// ask it and translate its answer to HTTP; a refusal is a 403 problem, "not visible" a 404 by the route.
import type { OrderView } from '../../domain';
import type { Caller } from './auth';
import { HttpProblem } from './problem';

const forbidden = (detail: string) => new HttpProblem(403, detail, { type: '/problems/forbidden' });

/** A create's body as the caller means it: a customer may leave out its customer id, the token names it. */
export function createRequestOf(caller: Caller, body: unknown): unknown {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  return caller.role === 'customer' && isObject && !('customerId' in body)
    ? { ...body, customerId: caller.subject }
    : body;
}

/** Throws 403 unless the caller may create an order for this customer. */
export function assertMayCreateFor(caller: Caller, customerId: string): void {
  if (caller.role === 'customer' && customerId !== caller.subject) {
    throw forbidden('a customer token creates orders only for its own customer id');
  }
}

/** The customer a list is narrowed to: a customer's own (403 when it asks for another's), an operator's choice. */
export function listScope(caller: Caller, customerId: string | undefined): string | undefined {
  if (caller.role === 'operator') return customerId;
  if (customerId !== undefined && customerId !== caller.subject) {
    throw forbidden("a customer token lists only its own customer's orders");
  }
  return caller.subject;
}

/** The order, when the caller may see it (and so read or cancel it): an operator every order, a customer its own. */
export function visibleTo(caller: Caller, order: OrderView | undefined): OrderView | undefined {
  return caller.role === 'operator' || order?.customerId === caller.subject ? order : undefined;
}

/** Throws 403 unless the caller is an operator: the reads across all orders, and the Web UI's codec endpoint. */
export function assertOperator(caller: Caller, what: string): void {
  if (caller.role !== 'operator') throw forbidden(`only an operator token ${what}`);
}
