// Past one machine: the product on a two-node Temporal cluster (temporal-server 1.32.1 on 127.0.0.2 and 127.0.0.3 over
// one PostgreSQL, HAProxy in front of the frontends, the only address the API and the workers are given). Orders
// arrive at a steady rate, a share cancelled at random moments, while one node is SIGKILLed, started again to rejoin,
// and then the other is SIGKILLed: nothing lost or done twice, every answer true, no process of ours restarted.
import { isFinal, type OrderState } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { DELIVERY_DELAY_SECONDS, startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { TemporalCluster } from '../../dev/stack/temporal-cluster';
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { cancelOutcomes, tallyOutcomes, untrueOutcome } from './cancel-answers';
import { stopAndSearchLogs } from './credential-search';
import { FiguresBook, figuresFrom } from './figures';
import { waitUntilAllFinal } from './order-probes';
import { startSteadyOrders } from './steady-orders';
import { scenarioCustomer } from './workload';

jest.setTimeout(480_000);

/** Orders per second, all through the scenario. */
const RATE = 4;
/** Orders progressing at least this often (transitions per second, over the last 3 s) count as flowing. */
const FLOWING = RATE;
/** How long the stack may take to have orders flowing again after a fault. */
const RECOVERY_TIMEOUT_MS = 120_000;

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;
let cluster: TemporalCluster;

beforeAll(async () => {
  // A gateway of 300 ms keeps payments in flight on the payments worker when a node dies.
  stack = await startStack(
    'temporal-cluster',
    { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '300' } },
    { temporal: 'real', temporalNodes: 2 },
  );
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
  if (!(stack.temporal instanceof TemporalCluster)) throw new Error('expected a Temporal cluster');
  cluster = stack.temporal;
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

interface Step {
  orderId: string;
  to: OrderState;
  at: number;
}

/** Every recorded step of the customer's orders (`created` at its acceptance, then each decision), by time. */
async function stepsOf(customerId: string): Promise<Step[]> {
  const rows: { order_id: string; to_state: OrderState; at: Date }[] = await stack
    .db('orders.order_events as e')
    .join('orders.orders as o', 'o.id', 'e.order_id')
    .where({ 'o.customer_id': customerId, 'e.event': 'transition' })
    .select('e.order_id', 'e.to_state', 'e.at');
  return rows
    .map((row) => ({ orderId: row.order_id, to: row.to_state, at: row.at.getTime() }))
    .sort((a, b) => a.at - b.at);
}

/** When each of the customer's orders made a decision (every step after `created`), in epoch ms, sorted. */
async function decisionTimes(customerId: string): Promise<number[]> {
  return (await stepsOf(customerId)).filter((step) => step.to !== 'created').map((step) => step.at);
}

/** Resolves once orders have made decisions at the steady rate over the last 3 s, all after `since`; the time then. */
function flowingSince(customerId: string, since: number, what: string): Promise<number> {
  return eventually(
    `orders flowing ${what}`,
    async () => {
      const now = Date.now();
      const recent = (await decisionTimes(customerId)).filter((at) => at > Math.max(since, now - 3_000));
      return recent.length >= FLOWING * 3 ? now : undefined;
    },
    { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 250 },
  );
}

/**
 * After a fault at `at`: how long until the first order made its next decision, the longest time within `windowMs` in
 * which no order made any (the pause), and the longest any order in flight then waited beyond its due time for its
 * next step (a confirmed order is due at its delivery time; any other at once).
 */
function pauseAfter(steps: Step[], at: number, windowMs: number) {
  const decisions = steps.filter((s) => s.to !== 'created' && s.at > at && s.at <= at + windowMs).map((s) => s.at);
  const points = [at, ...decisions];
  const gaps = points.slice(1).map((t, i) => t - points[i]);
  const byOrder = new Map<string, Step[]>();
  for (const step of steps) byOrder.set(step.orderId, [...(byOrder.get(step.orderId) ?? []), step]);
  const delays = [...byOrder.values()].flatMap((own) => {
    const before = own.filter((s) => s.at <= at);
    const next = own.find((s) => s.at > at);
    const last = before.at(-1);
    if (!last || isFinal(last.to) || !next) return [];
    const due = last.to === 'confirmed' ? last.at + DELIVERY_DELAY_SECONDS * 1000 : at;
    return [next.at - Math.max(at, due)];
  });
  return {
    firstDecisionMs: decisions.length > 0 ? decisions[0] - at : Infinity,
    longestPauseMs: Math.max(0, ...gaps, decisions.length > 0 ? 0 : windowMs),
    inFlight: delays.length,
    longestOrderDelayMs: Math.max(0, ...delays),
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

it('loses no order and answers every create and cancel truthfully while one node is SIGKILLed, restarted, and the other SIGKILLed', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('cluster');
    const load = startSteadyOrders(api, {
      customerId: customer,
      ratePerSecond: RATE,
      cancelShare: 0.3,
      maxCancelDelayMs: 4_000,
      retryForMs: 150_000,
    });
    // Each fault in turn, the next once orders flow again after it.
    const plan: { name: string; cause(at: number): Promise<void> }[] = [
      { name: 'node-1 SIGKILL', cause: () => cluster.nodes[0].kill() },
      {
        name: 'node-1 rejoins',
        cause: async (at) => {
          await cluster.nodes[0].start();
          await cluster.waitUntilJoined(0, at);
        },
      },
      { name: 'node-2 SIGKILL', cause: () => cluster.nodes[1].kill() },
    ];
    let result;
    const faults: { name: string; at: number; flowingAgainAt: number }[] = [];
    try {
      await flowingSince(customer, started, 'before the first fault');
      for (const { name, cause } of plan) {
        const at = Date.now();
        await cause(at);
        faults.push({ name, at, flowingAgainAt: await flowingSince(customer, at, `after ${name}`) });
      }
    } finally {
      result = await load.stop();
    }
    const created = result.creates.flatMap((c) => (c.order ? [c.order.id] : []));
    const recoveryMs = await waitUntilAllFinal(stack.db, created, 120_000);
    const report = await auditStack(stack, api, { orderIds: created, customerIds: [customer] });
    const outcomes = await cancelOutcomes(
      stack.db,
      new Map(result.cancels.flatMap((c) => (c.answer ? [[c.orderId, c.answer.cancellation] as const] : []))),
    );
    const steps = await stepsOf(customer);
    const pauses = faults.map((f) => ({ ...f, ...pauseAfter(steps, f.at, f.flowingAgainAt - f.at) }));
    const statuses = result.creates.flatMap((c) => c.statuses);
    figures.record(
      figuresFrom('17 Temporal cluster, node SIGKILL / rejoin / SIGKILL', report, {
        faults: pauses.map((p) => p.name),
        recoveryMs,
        durationMs: Date.now() - started,
        extra: {
          rate: `${RATE}/s`,
          creates: result.creates.length,
          creates_answered_503: statuses.filter((s) => s === 503).length,
          cancels: result.cancels.length,
          cancels_retried_after_503: result.cancels.filter((c) => c.failedAttempts > 0).length,
          ...Object.fromEntries(
            pauses.flatMap((p, i) => [
              [`fault${i + 1}_first_decision_after`, seconds(p.firstDecisionMs)],
              [`fault${i + 1}_longest_pause`, seconds(p.longestPauseMs)],
              [`fault${i + 1}_flowing_again_after`, seconds(p.flowingAgainAt - p.at)],
              [`fault${i + 1}_in_flight`, p.inFlight],
              [`fault${i + 1}_longest_order_delay`, seconds(p.longestOrderDelayMs)],
              // Creates sent before the fault and not yet answered then: each answer is among those checked below.
              [
                `fault${i + 1}_creates_in_flight`,
                result.creates.filter((c) => c.sentAt <= p.at && (c.createdAt ?? Infinity) > p.at).length,
              ],
            ]),
          ),
          cancel_outcomes: JSON.stringify(tallyOutcomes(outcomes)),
        },
      }),
    );

    expect(result.errors).toEqual([]);
    expect(result.creates.flatMap((c) => c.untrue)).toEqual([]);
    // Every create was answered, 201 or a retryable 503, never dropped or a 500.
    expect(statuses.filter((s) => s !== 201 && s !== 503)).toEqual([]);
    expect(result.cancels.filter((c) => c.error !== undefined)).toEqual([]);
    expect(outcomes.filter(untrueOutcome)).toEqual([]);
    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(result.creates.length);
    expect(stack.unexpectedExits()).toEqual([]);
  }));
