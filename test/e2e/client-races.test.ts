// Clients racing the system: a cancel sent right as the delivery timer fires, and creates retried across an API crash.
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../dev/support/poll';
import { ApiClient, type CancelAnswer, type CreateOrderBody } from './api-client';
import { auditStack, findings } from './audit';
import { cancelOutcomes, tallyOutcomes, untrueOutcome } from './cancel-answers';
import { FiguresBook, figuresFrom } from './figures';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { waitUntilAllFinal } from './order-probes';
import { mapConcurrent } from '../../dev/support/map-concurrent';
import { createOrders, orderBody, scenarioCustomer } from './workload';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(240_000);

const RACING_ORDERS = 100;
/**
 * When each cancel is sent, from the order's recorded confirmation + the delivery delay. The timer itself starts a
 * little later (once the confirmation is recorded), by a lag that grows with load, so the offsets straddle it.
 */
const CANCEL_OFFSETS_MS = [-200, 0, 200, 400, 600, 800, 1000, 1200, 1400];

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startStack('client-races');
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it('ends each of 100 orders cancelled at the delivery boundary either cancelled and refunded or delivered with the cancel rejected, never both, never neither', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('cancel-race');
    const bodies = Array.from({ length: RACING_ORDERS }, (_, i) => orderBody(customer, 'tok_approve', i));
    const cancels = new Map<string, Promise<CancelAnswer>>();
    let lateCancels = 0;
    // Each order's cancel is timed from its recorded confirmation: confirmed at + delivery delay + an offset.
    const scheduleCancels = async () => {
      const confirmations: { order_id: string; at: Date }[] = await stack
        .db('orders.order_events as e')
        .join('orders.orders as o', 'o.id', 'e.order_id')
        .where({ 'o.customer_id': customer, 'e.event': 'transition', 'e.to_state': 'confirmed' })
        .select('e.order_id', 'e.at');
      for (const { order_id: id, at } of confirmations.filter((c) => !cancels.has(c.order_id))) {
        const offset = CANCEL_OFFSETS_MS[cancels.size % CANCEL_OFFSETS_MS.length];
        const waitMs = at.getTime() + DELIVERY_DELAY_SECONDS * 1000 + offset - Date.now();
        if (waitMs < 0) lateCancels += 1;
        cancels.set(
          id,
          sleep(Math.max(0, waitMs)).then(() => api.cancel(id)),
        );
      }
      return cancels.size === RACING_ORDERS ? true : undefined;
    };
    const [{ orders }] = await Promise.all([
      createOrders(api, bodies, { concurrency: 16 }),
      eventually('every order confirmed and its cancel scheduled', scheduleCancels, {
        timeoutMs: 90_000,
        intervalMs: 20,
      }),
    ]);
    const ids = orders.map((order) => order.id);
    const answers = new Map(await Promise.all([...cancels].map(async ([id, answer]) => [id, await answer] as const)));
    await waitUntilAllFinal(stack.db, ids, 60_000);

    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    // Every answer is borne out: accepted ends cancelled, rejected never does, pending is decided and recorded.
    const outcomes = await cancelOutcomes(stack.db, new Map([...answers].map(([id, a]) => [id, a.cancellation])));
    const tally = tallyOutcomes(outcomes);
    figures.record(
      figuresFrom('6 cancel racing delivery', report, {
        faults: [`${cancels.size} cancels at the delivery boundary (-200..+1400 ms)`],
        durationMs: Date.now() - started,
        extra: {
          cancelled_and_refunded: report.refunds,
          delivered_cancel_rejected: tally['delivered, cancel rejected'] ?? 0,
          delivered_cancel_answered_rejected: tally['delivered, cancel answered rejected'] ?? 0,
          cancels_pending: [...answers.values()].filter((a) => a.cancellation === 'pending').length,
          cancels_sent_late: lateCancels,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(RACING_ORDERS);
    expect(outcomes.filter(untrueOutcome)).toEqual([]);
    // Both endings occurred, or the cancels missed the boundary they were meant to race.
    expect(tally.cancelled).toBeGreaterThan(0);
    expect(RACING_ORDERS - (tally.cancelled ?? 0)).toBeGreaterThan(0);
    expect(report.refunds).toBe(tally.cancelled ?? 0);
  }));

/** Sends one create, answering its status or, when the connection broke, 'no answer'. */
const sendCreate = (body: CreateOrderBody, key: string) =>
  api.postJson('/orders', body, { 'idempotency-key': key }).then(
    (answer) => answer.status,
    () => 'no answer' as const,
  );

it('makes exactly one order and one charge per Idempotency-Key when the API is SIGKILLed mid-create and the client retries', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('api-kill');
    const keys = Array.from({ length: 50 }, (_, i) => `${customer}-${i}`);
    const bodies = keys.map((_, i) => orderBody(customer, i % 2 === 0 ? 'tok_approve' : 'tok_visa', i));
    // Two bursts of creates, the API killed under each after some answers: the creates in flight are cut.
    const burst = async (from: number, to: number, killAfter: number) => {
      let answered = 0;
      let killed: Promise<void> | undefined;
      const answers = await mapConcurrent(keys.slice(from, to), 8, async (key, i) => {
        const answer = await sendCreate(bodies[from + i], key);
        if (++answered === killAfter) killed = stack.api.kill();
        return answer;
      });
      await killed;
      await stack.api.start();
      return answers.filter((a) => a !== 201).length;
    };
    const cutByFirstKill = await burst(0, 25, 5);
    const cutBySecondKill = await burst(25, 50, 10);

    // The client retries every key until it gets its order, then asks once more: the same order, replayed.
    const deadline = Date.now() + 60_000;
    const retried = await mapConcurrent(keys, 8, (key, i) => api.createOrderRetrying(bodies[i], key, deadline));
    const replays = await mapConcurrent(keys, 8, async (key, i) => {
      const answer = await api.postJson('/orders', bodies[i], { 'idempotency-key': key });
      return { key, status: answer.status, replayed: answer.headers.get('idempotent-replayed'), text: answer.text };
    });
    const ids = retried.map((r) => r.order.id);
    const recoveryMs = await waitUntilAllFinal(stack.db, ids, 60_000);
    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    figures.record(
      figuresFrom('7 API SIGKILL mid-create, client retries', report, {
        faults: ['api SIGKILL under a burst of 25, twice'],
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          keys: keys.length,
          requests_cut_by_kills: cutByFirstKill + cutBySecondKill,
          gateway_charges: report.gatewayCharges,
        },
      }),
    );

    expect(findings(report)).toEqual([]);
    expect(new Set(ids).size).toBe(keys.length);
    expect(report.orders).toBe(keys.length);
    expect(cutByFirstKill + cutBySecondKill).toBeGreaterThan(0);
    expect(replays.filter((r) => r.status !== 201 || r.replayed !== 'true')).toEqual([]);
    expect(replays.map((r) => (JSON.parse(r.text) as { id?: string }).id)).toEqual(ids);
    expect(report.gatewayCharges).toBe(report.payments.confirmed);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
