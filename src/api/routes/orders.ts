// HTTP ⇄ orders: validate, call a command or a read, and map each outcome to its status code on purpose.
import { Router, type Request, type Response } from 'express';
import { isPaymentSettled } from '../../domain';
import { cancelOrderSchema, createOrderSchema, orderIdSchema } from '../schemas/order-input';
import { callerOf } from '../http/auth';
import { assertMayCreateFor, createRequestOf, listScope, visibleTo } from '../http/policy';
import type { CancelOrder, CancelResult } from '../commands/cancel-order';
import {
  BacklogFullError,
  IdempotencyConflictError,
  OrderNotAcceptedError,
  type CreateOrder,
} from '../commands/create-order';
import { encodeCursor } from '../reads/cursor';
import { IDEMPOTENCY_KEY_HEADER, idempotencyHeadersSchema } from '../commands/idempotency';
import { requireJsonBody } from '../http/json-body';
import type { OrderLookup } from '../reads/order-lookup';
import type { OrderReads } from '../reads/order-reads';
import { HttpProblem, notFound } from '../http/problem';
import { listOrdersQuerySchema } from '../schemas/requests';
import { parseRequest } from '../http/validation';

export interface OrderRoutesDeps {
  createOrder: CreateOrder;
  cancelOrder: CancelOrder;
  reads: OrderReads;
  lookup: OrderLookup;
}

/** The :id of the path, or 404: a malformed id names no order, like an unknown one. */
function orderIdParam(req: Request): string {
  const id = orderIdSchema.safeParse(req.params.id);
  if (!id.success) throw notFound(`no order ${String(req.params.id)}`);
  return id.data;
}

const conflict = (detail: string, type: string, extra: Record<string, unknown> = {}) =>
  new HttpProblem(409, detail, { type, ...extra });

/**
 * Every answer to a cancel, in one place (docs/http-api.md): its status code, and the order as it is with what became
 * of the request. A refusal is a problem that carries the order too.
 */
function answerCancel(res: Response, id: string, result: Exclude<CancelResult, { status: 'not_found' }>): void {
  const { order } = result;
  const refused = (detail: string, type: string) =>
    conflict(detail, type, { order, cancellation: { status: 'rejected' } });
  switch (result.status) {
    case 'accepted':
      // 202 while the payment or its refund is still settling; the order will end cancelled either way.
      res.status(isPaymentSettled(order) ? 200 : 202).json({ ...order, cancellation: { status: 'accepted' } });
      return;
    case 'pending':
      res.status(202).json({ ...order, cancellation: { status: 'pending' } });
      return;
    case 'rejected':
      throw refused(
        `order ${id} is delivered, or its delivery was decided: it can no longer be cancelled`,
        '/problems/order-delivered',
      );
    case 'closed':
      throw refused(`order ${id} is ${order.state} but its workflow has ended`, '/problems/order-closed');
  }
}

export function orderRoutes({ createOrder, cancelOrder, reads, lookup }: OrderRoutesDeps): Router {
  const router = Router();

  router.post('/orders', requireJsonBody(), async (req: Request, res: Response) => {
    const headers = { [IDEMPOTENCY_KEY_HEADER]: req.get(IDEMPOTENCY_KEY_HEADER) };
    const idempotencyKey = parseRequest(idempotencyHeadersSchema, headers, 'headers')[IDEMPOTENCY_KEY_HEADER];
    const caller = callerOf(res);
    const request = parseRequest(createOrderSchema, createRequestOf(caller, req.body), 'body');
    assertMayCreateFor(caller, request.customerId);
    try {
      const { order, replayed } = await createOrder(request, idempotencyKey);
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(201).location(`/orders/${order.id}`).json(order);
    } catch (error) {
      if (error instanceof IdempotencyConflictError) {
        throw conflict(
          'this Idempotency-Key was already used with a different request body',
          '/problems/idempotency-conflict',
        );
      }
      if (error instanceof BacklogFullError) {
        res.setHeader('Retry-After', String(error.retryAfterSeconds));
        throw new HttpProblem(429, 'too many orders are waiting to be processed; nothing was created, retry later', {
          type: '/problems/backlog-full',
        });
      }
      if (error instanceof OrderNotAcceptedError) {
        res.setHeader('Retry-After', '5');
        res.setHeader(IDEMPOTENCY_KEY_HEADER, error.idempotencyKey);
        throw new HttpProblem(
          503,
          `temporal did not accept the order in time and it was not found; retry with the header ${IDEMPOTENCY_KEY_HEADER}: ${error.idempotencyKey}, which yields at most one order`,
          { type: '/problems/order-not-accepted', idempotencyKey: error.idempotencyKey },
        );
      }
      throw error;
    }
  });

  router.get('/orders', async (req: Request, res: Response) => {
    const { state, customerId, limit, cursor } = parseRequest(listOrdersQuerySchema, req.query, 'query');
    const scope = listScope(callerOf(res), customerId);
    const page = await reads.listOrders({ state, customerId: scope, limit, after: cursor });
    res.json({ items: page.items, nextCursor: page.next && encodeCursor(page.next) });
  });

  router.get('/orders/:id', async (req: Request, res: Response) => {
    const order = visibleTo(callerOf(res), await lookup.findOrder(orderIdParam(req)));
    if (!order) throw notFound(`no order ${req.params.id}`);
    res.json(order);
  });

  router.get('/orders/:id/status', async (req: Request, res: Response) => {
    const id = orderIdParam(req);
    const caller = callerOf(res);
    const state =
      caller.role === 'operator' ? await lookup.findState(id) : visibleTo(caller, await lookup.findOrder(id))?.state;
    if (!state) throw notFound(`no order ${id}`);
    res.json({ id, state });
  });

  router.post('/orders/:id/cancel', requireJsonBody({ optional: true }), async (req: Request, res: Response) => {
    const id = orderIdParam(req);
    const request = parseRequest(cancelOrderSchema, req.body ?? {}, 'body');
    const caller = callerOf(res);
    // Someone else's order is answered as if it did not exist.
    if (caller.role === 'customer' && !visibleTo(caller, await lookup.findOrder(id))) throw notFound(`no order ${id}`);
    const result = await cancelOrder(id, { ...request, requestedBy: caller.subject });
    if (result.status === 'not_found') throw notFound(`no order ${id}`);
    answerCancel(res, id, result);
  });

  return router;
}
