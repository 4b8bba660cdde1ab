// Processes that start while what they need is down (SPEC §7: "every process waits for what it needs"): with orders
// mid-flight, a dependency is taken down, every worker and API is restarted into the outage, and the dependency
// comes back 20 s later. Nobody restarts anything by hand after that: every process must find its way back, and
// every order must end final, nothing lost, nothing done twice.
import { eventually } from '../../dev/support/poll';
import type { ManagedService } from '../../dev/stack/service';
import type { Stack } from '../../dev/stack/stack';
import type { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { figuresFrom, type FiguresBook } from './figures';
import { waitUntilAllFinal, waitUntilMidFlight } from './order-probes';
import { createOrders, downtime, mixedOrders, scenarioCustomer } from './workload';

export const BLIP_ORDERS = 40;
/** How long the dependency stays down after the processes were started into the outage. */
export const BLIP_MS = 20_000;

export type Dependency = 'temporal' | 'postgres';

export interface BlipScenario {
  stack: Stack;
  api: ApiClient;
  figures: FiguresBook;
  /** The figures' row name. */
  scenario: string;
}

function services(stack: Stack): ManagedService[] {
  return [...stack.ordersWorkers, ...stack.paymentsWorkers, ...stack.apis];
}

async function readiness(service: ManagedService): Promise<{ status: number; text: string }> {
  const answer = await fetch(service.readinessUrl!, { signal: AbortSignal.timeout(10_000) });
  return { status: answer.status, text: await answer.text() };
}

/** Lines of the service's current run whose message begins with `prefix`. */
function linesSaying(service: ManagedService, prefix: string): string[] {
  return service.lines.filter((line) => line.includes(`"msg":"${prefix}`));
}

const dependencyOf = (stack: Stack, dependency: Dependency) =>
  dependency === 'temporal' ? stack.temporal : stack.postgres;

/** Every process ready again (/readyz 200); resolves with how long it took. */
async function allReady(stack: Stack, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (const service of services(stack)) {
    await eventually(
      `${service.name} to be ready`,
      async () => ((await readiness(service)).status === 200 ? true : undefined),
      { timeoutMs, intervalMs: 200 },
    );
  }
  return Date.now() - started;
}

/**
 * Orders mid-flight; `dependency` down; every worker and API SIGKILLed and started again while it is down, each
 * waiting for it (/readyz 503 naming it, one log line per step rather than one per try); the dependency back after
 * BLIP_MS; then every process ready on its own, new orders taken, and every order final.
 */
export async function startedDuringOutage(
  { stack, api, figures, scenario }: BlipScenario,
  dependency: Dependency,
): Promise<void> {
  const started = Date.now();
  const customer = scenarioCustomer(`blip-${dependency}`);
  const { orders } = await createOrders(api, mixedOrders(customer, BLIP_ORDERS), { concurrency: 16 });
  const ids = orders.map((order) => order.id);
  await waitUntilMidFlight(stack.db, ids);

  await dependencyOf(stack, dependency).stop();
  const downAt = Date.now();
  await Promise.all(services(stack).map((service) => service.kill()));
  // Each is up once it says what it waits for: with PostgreSQL down the production server is down too, and a
  // worker asks for PostgreSQL first.
  await Promise.all(services(stack).map((service) => service.start({}, { readyMessage: `waiting for ${dependency}` })));
  const whileDown = await Promise.all(services(stack).map(readiness));
  await downtime(BLIP_MS - (Date.now() - downAt));
  const triesLogged = Math.max(...services(stack).map((s) => linesSaying(s, `waiting for ${dependency}`).length));

  await dependencyOf(stack, dependency).start();
  const backAt = Date.now();
  const readyAfterMs = await allReady(stack, 90_000);
  const more = await createOrders(api, mixedOrders(customer, BLIP_ORDERS / 4), { concurrency: 8 });
  const allIds = [...ids, ...more.orders.map((order) => order.id)];
  const recoveryMs = await waitUntilAllFinal(stack.db, allIds, 150_000);

  const report = await auditStack(stack, api, { orderIds: allIds, customerIds: [customer] });
  figures.record(
    figuresFrom(scenario, report, {
      faults: [`${dependency} down`, 'every worker and API started into the outage', `${BLIP_MS / 1000}s down`],
      recoveryMs,
      durationMs: Date.now() - started,
      extra: {
        all_ready_after_back: `${(readyAfterMs / 1000).toFixed(1)}s`,
        most_waiting_lines_of_one_process: triesLogged,
        back_to_final: `${((Date.now() - backAt) / 1000).toFixed(1)}s`,
      },
    }),
  );

  for (const answer of whileDown) {
    expect(answer.status).toBe(503);
    expect(answer.text).toContain(dependency);
  }
  // Backoff from 0.5 s to 10 s tries about six times in 20 s; a line per try would say so six times.
  expect(triesLogged).toBeGreaterThanOrEqual(1);
  expect(triesLogged).toBeLessThanOrEqual(3);
  expect(findings(report)).toEqual([]);
  expect(report.orders).toBe(allIds.length);
  expect(stack.unexpectedExits()).toEqual([]);
}

/**
 * The report: a worker started seconds before Temporal restarted died for good. Both workers are restarted
 * while Temporal is down; Temporal is started and, the moment it answers, stopped again while the workers connect
 * (each may be between its connection, the namespace check and registering its worker); then started for good. Each
 * worker must end polling on its own and every order must finish.
 */
export async function temporalRestartedWhileConnecting({ stack, api, figures, scenario }: BlipScenario): Promise<void> {
  const started = Date.now();
  const customer = scenarioCustomer('blip-connecting');
  const { orders } = await createOrders(api, mixedOrders(customer, BLIP_ORDERS), { concurrency: 16 });
  const ids = orders.map((order) => order.id);
  await waitUntilMidFlight(stack.db, ids);

  const workers = [stack.ordersWorker, stack.paymentsWorker];
  await stack.temporal.stop();
  const downAt = Date.now();
  await Promise.all(workers.map((worker) => worker.kill()));
  await Promise.all(workers.map((worker) => worker.start({}, { readyMessage: 'waiting for temporal' })));
  await stack.temporal.start();
  await stack.temporal.stop();
  await downtime(3_000);
  await stack.temporal.start();
  const backAt = Date.now();
  const readyAfterMs = await allReady(stack, 90_000);
  const recoveryMs = await waitUntilAllFinal(stack.db, ids, 150_000);

  const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
  figures.record(
    figuresFrom(scenario, report, {
      faults: ['both workers started while Temporal is down', 'temporal restarted as they connect'],
      recoveryMs,
      durationMs: Date.now() - started,
      extra: {
        first_down_to_back: `${((backAt - downAt) / 1000).toFixed(1)}s`,
        all_ready_after_back: `${(readyAfterMs / 1000).toFixed(1)}s`,
      },
    }),
  );

  for (const worker of workers) expect(linesSaying(worker, 'worker started')).toHaveLength(1);
  expect(findings(report)).toEqual([]);
  expect(report.orders).toBe(BLIP_ORDERS);
  expect(stack.unexpectedExits()).toEqual([]);
}
