// Memory with many orders open at once: orders waiting on a long delivery timer, what each one costs every process,
// and the orders worker restarted with a small workflow cache and made to replay them (a worker must not keep every
// open order in memory).
import { loadConfig } from '../src/config';
import { execFileSync } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import type { Client } from '@temporalio/client';
import { orderWorkflowId, statusQuery } from '../src/domain';
import { mapConcurrent } from '../dev/support/map-concurrent';
import { benchCustomer, startOrdersPaced, waitForCounts } from './orders';
import type { Progress } from './progress';
import type { ProcessSampler } from './sampler';
import { perSecond } from './stats';
import type { BenchTarget } from './target';

export interface OpenOrdersPlan {
  /** Orders to open; the fill stops at `fillMs` if the stack is slower than that. */
  orders: number;
  concurrency: number;
  fillMs: number;
  /** Long enough that no order is delivered during the run. */
  deliveryDelaySeconds: number;
  /** The small cache the worker is restarted with, and how many open orders it then replays. */
  smallCacheSize: number;
  replays: number;
}

export interface CacheRun {
  /** WORKER_WORKFLOW_CACHE_SIZE of the restarted worker. */
  cacheSize: number;
  /** Right after the restart, before any order was touched. */
  idleRssBytes: number;
  /** After `replayed` open orders were brought into the worker (a status query replays an evicted order). */
  replayedRssBytes: number;
  replayed: number;
  /** Queries answered per second: what a cache miss costs. */
  replaysPerSecond: number;
}

export interface OpenOrdersResult {
  requested: number;
  started: number;
  /** Of those, waiting on their delivery timer (confirmed) when the fill ended. */
  waiting: number;
  fillMs: number;
  fillPerSecond: number;
  /** The orders worker's cache while it filled: the configured size, or the SDK default it computes. */
  cacheSize: { configured: number | undefined; sdkDefault: number };
  /** RSS of each process before the fill and once every order was waiting. */
  rssBefore: Record<string, number>;
  rssAfterFill: Record<string, number>;
  /** Embedded stack only: the orders worker restarted with a small cache. */
  smallCache?: CacheRun;
}

/** The SDK's default cache size (worker-options.js) for a worker started with these NODE_OPTIONS. */
export function sdkDefaultCacheSize(nodeOptions: string | undefined): number {
  const heapBytes = nodeOptions
    ? Number(
        execFileSync(process.execPath, ['-p', 'require("node:v8").getHeapStatistics().heap_size_limit'], {
          env: { ...process.env, NODE_OPTIONS: nodeOptions },
        }).toString(),
      )
    : getHeapStatistics().heap_size_limit;
  const heapMiB = heapBytes / 1024 / 1024;
  return Math.max(Math.floor((Math.max(heapMiB - 200, 0) * 600) / 1024), 10);
}

async function rssByProcess(sampler: ProcessSampler): Promise<Record<string, number>> {
  const sample = await sampler.sampleNow();
  return Object.fromEntries(sample.readings.map((r) => [r.name, r.rssBytes]));
}

async function replayAll(client: Client, ids: readonly string[], onDone: (done: number) => void): Promise<number> {
  const started = Date.now();
  let done = 0;
  await mapConcurrent(ids, 16, async (id) => {
    await client.workflow.getHandle(orderWorkflowId(id)).query(statusQuery);
    onDone(++done);
  });
  return Date.now() - started;
}

export async function measureOpenOrders(
  target: BenchTarget,
  runId: string,
  plan: OpenOrdersPlan,
  workerEnv: Record<string, string>,
  sampler: ProcessSampler,
  progress: Progress,
): Promise<OpenOrdersResult> {
  const customerId = benchCustomer('open', runId);
  // As the worker reads it: the product's default applies when the variable is unset.
  const configuredCacheSize: number | undefined = loadConfig({
    WORKER_WORKFLOW_CACHE_SIZE: workerEnv.WORKER_WORKFLOW_CACHE_SIZE,
  }).WORKER_WORKFLOW_CACHE_SIZE;
  const label = 'open orders';
  // A fresh worker, so its memory before the fill is not the garbage of the measurements before.
  if (target.ordersWorker) {
    progress.update(`${label}: restarting the orders worker`);
    await target.ordersWorker.restart();
  }
  const rssBefore = await rssByProcess(sampler);
  const started = Date.now();
  const delays = await startOrdersPaced({
    client: target.client,
    db: target.db,
    customerId,
    count: plan.orders,
    concurrency: plan.concurrency,
    maxMs: plan.fillMs,
    deliveryDelaySeconds: () => plan.deliveryDelaySeconds,
    onProgress: (started, confirmed) =>
      progress.update(`${label}: ${started}/${plan.orders} started, ${confirmed} waiting on their delivery timer`),
  });
  const ids = [...delays.keys()];
  let waiting = 0;
  await waitForCounts(target.db, customerId, (counts) => counts.confirmed >= ids.length, {
    timeoutMs: 30_000,
    onPoll: (counts) => {
      waiting = counts.confirmed;
      progress.update(`${label}: ${ids.length} started, ${waiting} waiting on their delivery timer`);
    },
  });
  const fillMs = Date.now() - started;
  const rssAfterFill = await rssByProcess(sampler);
  progress.log(`${label}: ${waiting} of ${plan.orders} orders waiting after ${(fillMs / 1000).toFixed(0)} s`);

  let smallCache: CacheRun | undefined;
  const worker = target.ordersWorker;
  if (worker) {
    const cacheSize = plan.smallCacheSize;
    progress.update(`${label}: restarting the orders worker with a cache of ${cacheSize}`);
    await worker.restart({ WORKER_WORKFLOW_CACHE_SIZE: String(cacheSize) });
    const idleRssBytes = (await sampler.rssOf('orders-worker')) ?? 0;
    const replayIds = ids.slice(0, plan.replays);
    const replayMs = await replayAll(target.client, replayIds, (done) =>
      progress.update(`${label}, cache ${cacheSize}: ${done}/${replayIds.length} orders replayed`),
    );
    const replayedRssBytes = (await sampler.rssOf('orders-worker')) ?? 0;
    smallCache = {
      cacheSize,
      idleRssBytes,
      replayedRssBytes,
      replayed: replayIds.length,
      replaysPerSecond: perSecond(replayIds.length, replayMs),
    };
    // Back to the configured cache for the rest of the run.
    await worker.restart({
      WORKER_WORKFLOW_CACHE_SIZE: configuredCacheSize === undefined ? '' : String(configuredCacheSize),
    });
  }
  return {
    requested: plan.orders,
    started: ids.length,
    waiting,
    fillMs,
    fillPerSecond: perSecond(waiting, fillMs),
    cacheSize: { configured: configuredCacheSize, sdkDefault: sdkDefaultCacheSize(workerEnv.NODE_OPTIONS) },
    rssBefore,
    rssAfterFill,
    smallCache,
  };
}
