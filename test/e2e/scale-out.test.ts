// Scale-out on one machine: two API instances, two orders workers and two payments workers share one Temporal and
// one PostgreSQL; one of each is SIGKILLed mid-flow and the survivors finish every order, once.
import { orderSchema } from '../../src/api/schemas/responses';
import type { OrderView } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { ApiClient, UnexpectedAnswerError, type CreateOrderBody } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { readGatewayCalls } from '../../dev/stack/gateway-calls';
import { inState, waitUntilAllFinal } from './order-probes';
import { startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { mapConcurrent } from '../../dev/support/map-concurrent';
import { mixedOrders, scenarioCustomer } from './workload';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(300_000);

const ORDERS = 120;

const figures = new FiguresBook();
let stack: Stack;
let apis: ApiClient[];

beforeAll(async () => {
  // A slow gateway keeps payments in flight on both payments workers when one of them dies.
  stack = await startStack(
    'scale-out',
    { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '1000' } },
    { workers: 2, apis: 2 },
  );
  apis = stack.apiUrls.map((url) => new ApiClient(url, stack.operatorToken));
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

interface SpreadCreate {
  order: OrderView;
  /** The instance that answered 201. */
  answeredBy: number;
  failedAttempts: number;
}

/**
 * A client behind a load balancer: the create goes to instance `first`; after a 503 or no answer, the same request
 * (same Idempotency-Key) goes to the next instance, until `deadline`.
 */
async function createSpread(
  body: CreateOrderBody,
  key: string,
  first: number,
  deadline: number,
): Promise<SpreadCreate> {
  let failedAttempts = 0;
  for (let instance = first; ; instance = (instance + 1) % apis.length) {
    // Not `instanceof Error`: fetch's errors come from another realm than jest's globals.
    const answer = await apis[instance].postJson('/orders', body, { 'idempotency-key': key }).then(
      (http) => http,
      () => undefined,
    );
    if (answer?.status === 201) {
      return { order: orderSchema.parse(JSON.parse(answer.text)), answeredBy: instance, failedAttempts };
    }
    if (answer && answer.status !== 503) throw new UnexpectedAnswerError(`POST /orders`, answer);
    if (Date.now() > deadline) throw new Error(`POST /orders (key ${key}) unanswered after ${failedAttempts} attempts`);
    failedAttempts += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ordersOf(customerId: string): Promise<Map<string, OrderView['state']>> {
  const rows: { id: string; state: OrderView['state'] }[] = await stack
    .db('orders.orders')
    .where('customer_id', customerId)
    .select('id', 'state');
  return new Map(rows.map((row) => [row.id, row.state]));
}

it('finishes every order once when one API, one orders worker and one payments worker of two each are SIGKILLed mid-flow', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('scale-out');
    const deadline = Date.now() + 120_000;
    const batch = `${customer}-create`;
    let answered = 0;
    const creating = mapConcurrent(mixedOrders(customer, ORDERS), 16, async (body, i) => {
      const created = await createSpread(body, `${batch}-${i}`, i % apis.length, deadline);
      answered += 1;
      return created;
    });
    creating.catch(() => undefined); // awaited below, after the kills
    // Mid-flow for the API: two thirds of the creates still to come, half of them sent to the instance killed.
    await eventually('a third of the creates answered', () => (answered >= ORDERS / 3 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await stack.apis[1].kill();
    const answeredAtApiKill = answered;
    // Mid-flow for the workers: orders waiting on payment, others on their delivery timer.
    const atKill = await eventually(
      'orders waiting on payment and on their delivery timer',
      async () => {
        const states = await ordersOf(customer);
        return inState(states, 'created').length >= 3 && inState(states, 'confirmed').length >= 1 ? states : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const calledBeforeKill = await Promise.all(
      stack.paymentsWorkers.map(async (w) => {
        await w.log.flushed();
        return (await readGatewayCalls(w.log.path)).size;
      }),
    );
    await Promise.all([stack.ordersWorkers[1].kill(), stack.paymentsWorkers[1].kill()]);
    const killedAt = Date.now();
    const created = await creating;
    const ids = created.map((c) => c.order.id);
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 150_000);

    const report = await auditStack(stack, apis[0], { orderIds: ids, customerIds: [customer] });
    const answeredBy = [0, 1].map((i) => created.filter((c) => c.answeredBy === i).length);
    figures.record(
      figuresFrom('13 scale-out, one of each SIGKILLed', report, {
        faults: ['api-2 SIGKILL with creates in flight', 'then orders-worker-2 and payments-worker-2 SIGKILL'],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          answered_at_api_kill: answeredAtApiKill,
          recorded_at_worker_kill: atKill.size,
          answered_by_api_1_2: answeredBy.join('/'),
          creates_failed_over: created.filter((c) => c.failedAttempts > 0).length,
          orders_with_gateway_calls_before_kill_1_2: calledBeforeKill.join('/'),
          all_final_after_kill: `${((Date.now() - killedAt) / 1000).toFixed(1)}s`,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(report.finalStates).toEqual({ delivered: ORDERS * 0.75, cancelled: ORDERS * 0.25 });
    // Both instances of each kind took work before the kill: the load was shared, not idle on a standby.
    expect(answeredBy.every((n) => n > 0)).toBe(true);
    // The API was killed with creates on their way to it: their clients went on at the other instance.
    expect(created.filter((c) => c.failedAttempts > 0).length).toBeGreaterThan(0);
    expect(calledBeforeKill.every((n) => n > 0)).toBe(true);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
