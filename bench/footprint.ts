// Memory with many orders open at once: orders waiting on a long delivery timer, and the orders worker's RSS with its
// workflow cache at the configured size and at a small one (a worker must not keep every open order in memory).
import type { Client } from '@temporalio/client';
import { orderWorkflowId, statusQuery } from '../src/domain';
import { closedLoop } from './load';
import { mapLimit } from './map-limit';
import { benchCustomer, orderBody, startOrderWorkflow, waitForCounts } from './orders';
import type { Progress } from './progress';
import type { ProcessSampler } from './sampler';
import { perSecond } from './stats';
import type { BenchTarget } from './target';

export interface OpenOrdersPlan {
  orders: number;
  concurrency: number;
  /** The small cache the worker is restarted with, to show what the cache size does to its memory. */
  smallCacheSize: number;
  /** Long enough that no order is delivered during the run. */
  deliveryDelaySeconds: number;
  timeoutMs: number;
}

export interface CacheRun {
  /** WORKER_WORKFLOW_CACHE_SIZE for this run; undefined means the SDK's default. */
  cacheSize: number | undefined;
  /** Right after the restart, before any order was touched. */
  idleRssBytes: number;
  /** After every open order's workflow was brought into the worker (a status query replays it). */
  touchedRssBytes: number;
  touchMs: number;
  /** Queries answered per second: replaying an evicted order costs this much. */
  touchPerSecond: number;
}

export interface OpenOrdersResult {
  orders: number;
  /** Of those, waiting on their delivery timer (confirmed) when the fill ended. */
  waiting: number;
  fillMs: number;
  fillPerSecond: number;
  /** RSS of each process before the fill and once every order was waiting. */
  rssBefore: Record<string, number>;
  rssAfterFill: Record<string, number>;
  /** Embedded stack only: the orders worker restarted with other cache sizes. */
  cacheRuns: CacheRun[];
}

async function rssByProcess(sampler: ProcessSampler): Promise<Record<string, number>> {
  const sample = await sampler.sampleNow();
  return Object.fromEntries(sample.readings.map((r) => [r.name, r.rssBytes]));
}

async function touchAll(client: Client, ids: readonly string[], progress: Progress, label: string): Promise<number> {
  const started = Date.now();
  let done = 0;
  await mapLimit(ids, 16, async (id) => {
    await client.workflow.getHandle(orderWorkflowId(id)).query(statusQuery);
    if (++done % 100 === 0) progress.update(`${label}: ${done}/${ids.length} orders replayed`);
  });
  return Date.now() - started;
}

export async function measureOpenOrders(
  target: BenchTarget,
  runId: string,
  plan: OpenOrdersPlan,
  configuredCacheSize: number | undefined,
  sampler: ProcessSampler,
  progress: Progress,
): Promise<OpenOrdersResult> {
  const customerId = benchCustomer('open', runId);
  const rssBefore = await rssByProcess(sampler);
  const ids: string[] = [];
  const label = `open orders`;
  const started = Date.now();
  await closedLoop({
    concurrency: plan.concurrency,
    count: plan.orders,
    maxMs: plan.timeoutMs,
    operation: async (index) => {
      ids.push(await startOrderWorkflow(target.client, orderBody(customerId, index), plan.deliveryDelaySeconds));
    },
    onProgress: (done) => progress.update(`${label}: ${done}/${plan.orders} started`),
  });
  let waiting = 0;
  await waitForCounts(target.db, customerId, (counts) => counts.confirmed >= ids.length, {
    timeoutMs: Math.max(plan.timeoutMs - (Date.now() - started), 10_000),
    onPoll: (counts) => {
      waiting = counts.confirmed;
      progress.update(`${label}: ${counts.confirmed}/${ids.length} waiting on their delivery timer`);
    },
  });
  const fillMs = Date.now() - started;
  const rssAfterFill = await rssByProcess(sampler);
  progress.log(`${label}: ${waiting} orders waiting after ${(fillMs / 1000).toFixed(0)} s`);

  const cacheRuns: CacheRun[] = [];
  const worker = target.ordersWorker;
  if (worker) {
    // The small cache first, then back to the configured one, which the rest of the run keeps.
    for (const cacheSize of [plan.smallCacheSize, configuredCacheSize]) {
      const name = `cache ${cacheSize ?? 'SDK default'}`;
      progress.update(`${label}: restarting the orders worker with ${name}`);
      await worker.restart({ WORKER_WORKFLOW_CACHE_SIZE: cacheSize === undefined ? '' : String(cacheSize) });
      const idleRssBytes = (await sampler.rssOf('orders-worker')) ?? 0;
      const touchMs = await touchAll(target.client, ids, progress, `${label}, ${name}`);
      const touchedRssBytes = (await sampler.rssOf('orders-worker')) ?? 0;
      cacheRuns.push({ cacheSize, idleRssBytes, touchedRssBytes, touchMs, touchPerSecond: perSecond(ids.length, touchMs) });
    }
  }
  return { orders: ids.length, waiting, fillMs, fillPerSecond: perSecond(waiting, fillMs), rssBefore, rssAfterFill, cacheRuns };
}
