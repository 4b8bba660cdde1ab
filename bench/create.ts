// Create throughput and latency: POST /orders at fixed concurrency levels, each level's orders left to finish before
// the next level starts, so one level's deliveries do not slow the next one's creates. The 201 comes once Temporal
// has persisted the order's start; its row is written later, by the orders worker.
import { closedLoop, type LoopResult } from './load';
import { benchCustomer, createOrderViaApi, finalCount, orderBody, waitForCounts } from './orders';
import type { Progress } from './progress';
import type { BenchTarget } from './target';

export interface CreateLevelPlan {
  concurrency: number;
  orders: number;
  maxMs: number;
}

export interface CreateLevelResult {
  concurrency: number;
  load: LoopResult;
  /** From the last create's answer until every order of the level was final; undefined when it did not drain. */
  drainMs: number | undefined;
}

export async function measureCreate(
  target: BenchTarget,
  runId: string,
  levels: readonly CreateLevelPlan[],
  progress: Progress,
  drainTimeoutMs: number,
): Promise<CreateLevelResult[]> {
  const results: CreateLevelResult[] = [];
  for (const { concurrency, orders, maxMs } of levels) {
    const label = `create c=${concurrency}`;
    const customerId = benchCustomer(`create-c${concurrency}`, runId);
    const load = await closedLoop({
      concurrency,
      count: orders,
      maxMs,
      operation: async (index) => {
        await createOrderViaApi(target.endpoint, orderBody(customerId, index));
      },
      onProgress: (done) => progress.update(`${label}: ${done}/${orders} orders`),
    });
    const drainStart = Date.now();
    // Counted against the 201s, not the rows: an accepted order has no row until the orders worker has recorded it.
    const drained = await waitForCounts(target.db, customerId, (counts) => finalCount(counts) >= load.completed, {
      timeoutMs: drainTimeoutMs,
      onPoll: (counts) =>
        progress.update(`${label}: waiting for ${load.completed - finalCount(counts)} orders to be delivered`),
    });
    results.push({ concurrency, load, drainMs: drained ? Date.now() - drainStart : undefined });
    progress.log(`${label}: ${load.completed} orders in ${(load.elapsedMs / 1000).toFixed(1)} s`);
  }
  return results;
}
