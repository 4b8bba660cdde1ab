// The operators' live view of all orders: GET /orders/summary (counts and throughput) and GET /orders/changes, a
// server-sent event stream that says when orders changed so a console reads them again. Operator tokens only.
import { Router, type Request, type Response } from 'express';
import { callerOf } from '../http/auth';
import { assertOperator } from '../http/policy';
import type { OrderChanges } from '../reads/order-changes';
import type { SummarizeOrders } from '../reads/order-summary';

/** Keeps proxies and load balancers from closing an idle stream. */
const KEEP_ALIVE_MS = 25_000;
/** How soon a browser's EventSource reconnects after the stream ends. */
const RECONNECT_MS = 2_000;

const requireOperator = (res: Response) => assertOperator(callerOf(res), 'sees all orders');

export function orderOverviewRoutes({ summarize, changes }: { summarize: SummarizeOrders; changes: OrderChanges }) {
  const router = Router();

  router.get('/orders/summary', async (_req: Request, res: Response) => {
    requireOperator(res);
    res.json(await summarize());
  });

  router.get('/orders/changes', (req: Request, res: Response) => {
    requireOperator(res);
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      // nginx and similar proxies would otherwise hold events back in their buffers.
      'X-Accel-Buffering': 'no',
      // Its connection ends with it: a reconnect comes on a new one, never on a kept-alive socket of a draining API.
      Connection: 'close',
    });
    res.flushHeaders();
    res.write(`retry: ${RECONNECT_MS}\nevent: ready\ndata: {}\n\n`);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    const unsubscribe = changes.subscribe({
      changed: () => res.write('event: change\ndata: {}\n\n'),
      closed: () => res.end(),
    });
    req.once('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  return router;
}
