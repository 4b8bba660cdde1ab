// What the API's backlog check (ORDERS_MAX_BACKLOG, Temporal's task-queue statistics read at most once a second)
// costs: creates at one concurrency with the check as configured and with it off, rounds alternating in one run, the
// API restarted for each; throughput, latency and the API's own CPU per create.
import { closedLoop } from './load';
import { benchCustomer, createOrderViaApi, finalCount, orderBody, waitForCounts } from './orders';
import type { Progress } from './progress';
import type { ProcessSampler } from './sampler';
import { distribution, perSecond, type Distribution } from './stats';
import type { BenchTarget, WorkerControl } from './target';

export interface BacklogCheckPlan {
  /** Rounds of each variant, alternating. */
  rounds: number;
  orders: number;
  concurrency: number;
  drainTimeoutMs: number;
}

export interface BacklogCheckRound {
  /** ORDERS_MAX_BACKLOG as the API ran it; undefined = the product default. */
  maxBacklog: string | undefined;
  completed: number;
  failed: number;
  perSecond: number;
  latencyMs: Distribution;
  apiCpuMsPerCreate: number;
}

async function apiCpuSeconds(sampler: ProcessSampler): Promise<number> {
  const sample = await sampler.sampleNow();
  return sample.readings.find((r) => r.name === 'api')?.cpuSeconds ?? Number.NaN;
}

export async function measureBacklogCheck(
  target: BenchTarget & { api: WorkerControl },
  runId: string,
  plan: BacklogCheckPlan,
  configured: string | undefined,
  sampler: ProcessSampler,
  progress: Progress,
): Promise<BacklogCheckRound[]> {
  const variants = Array.from({ length: plan.rounds }, () => [configured, '0']).flat();
  const rounds: BacklogCheckRound[] = [];
  for (const [index, maxBacklog] of variants.entries()) {
    const name = maxBacklog === undefined ? 'default' : maxBacklog;
    const label = `backlog check ORDERS_MAX_BACKLOG=${name} (round ${Math.floor(index / 2) + 1})`;
    progress.update(`${label}: restarting the API`);
    // An empty value is "unset" to the product's config: its default.
    await target.api.restart({ ORDERS_MAX_BACKLOG: maxBacklog ?? '' });
    const customerId = benchCustomer(`backlog-check-${index}`, runId);
    const cpuBefore = await apiCpuSeconds(sampler);
    const load = await closedLoop({
      concurrency: plan.concurrency,
      count: plan.orders,
      maxMs: 60_000,
      operation: async (i) => {
        await createOrderViaApi(target.endpoint, orderBody(customerId, i));
      },
      onProgress: (done) => progress.update(`${label}: ${done}/${plan.orders} orders`),
    });
    const cpuSeconds = (await apiCpuSeconds(sampler)) - cpuBefore;
    // Delivered before the next round, so its creates do not compete with this round's deliveries.
    await waitForCounts(target.db, customerId, (counts) => finalCount(counts) >= load.completed, {
      timeoutMs: plan.drainTimeoutMs,
      onPoll: (counts) =>
        progress.update(`${label}: waiting for ${load.completed - finalCount(counts)} orders to be delivered`),
    });
    const round: BacklogCheckRound = {
      maxBacklog,
      completed: load.completed,
      failed: load.failed,
      perSecond: perSecond(load.completed, load.elapsedMs),
      latencyMs: distribution(load.latenciesMs),
      apiCpuMsPerCreate: load.completed > 0 ? (cpuSeconds * 1000) / load.completed : Number.NaN,
    };
    rounds.push(round);
    progress.log(
      `${label}: ${round.perSecond.toFixed(0)} orders/s, p99 ${round.latencyMs.p99.toFixed(0)} ms, API CPU ${round.apiCpuMsPerCreate.toFixed(2)} ms per create`,
    );
  }
  // Back to the run's own setting.
  await target.api.restart({ ORDERS_MAX_BACKLOG: configured ?? '' });
  return rounds;
}
