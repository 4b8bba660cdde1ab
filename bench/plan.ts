// How much load each measurement applies: fixed counts and durations, so a run's length is known in advance.
import type { BacklogCheckPlan } from './backlog-check';
import type { CreateLevelPlan } from './create';
import type { OpenOrdersPlan } from './footprint';
import type { LifecyclePlan } from './lifecycle';
import type { OpenLoopPlan } from './open-loop';
import type { SeedPlan } from './seed';

export interface BenchPlan {
  name: 'quick' | 'default';
  create: CreateLevelPlan[];
  /** The baselines at each create level: at most this long each (their counts are the create level's, doubled). */
  baselineMaxMs: number;
  createDrainTimeoutMs: number;
  lifecycle: LifecyclePlan;
  /** The sustained open-loop rate, of the orders and of the one-activity baseline, each in its own budget. */
  openLoop: { orders: OpenLoopPlan; baseline: OpenLoopPlan };
  backlogCheck: BacklogCheckPlan;
  /** Orders whose histories explain where delivery lateness arises. */
  timerSample: number;
  openOrders: OpenOrdersPlan;
  recovery: { orders: number; concurrency: number; timeoutMs: number };
  /** `--seed URL`: creates beside the seed build. */
  seed: SeedPlan;
  /** Said in the output when a figure is smaller than the issue asks for. */
  scaledDown: string[];
}

/** The lifecycle's delivery delay (the API's DELIVERY_DELAY_SECONDS in the bench's own stack). */
export const LIFECYCLE_DELIVERY_DELAY_SECONDS = 1;
/** Open orders wait on a timer this long: none is delivered during the run. */
const LONG_DELIVERY_DELAY_SECONDS = 3_600;

/** Held: lateness p99 ≤ 1 s; backlog growing by at most 5% of the rate per second over the window's second half. */
function openLoop(windows: Pick<OpenLoopPlan, 'searchWindowMs' | 'holdWindowMs' | 'budgetMs'>): OpenLoopPlan {
  return { ...windows, maxLatenessMs: 1_000, maxGrowthShare: 0.05, drainTimeoutMs: 60_000 };
}

export const defaultPlan: BenchPlan = {
  name: 'default',
  create: [
    { concurrency: 1, orders: 100, maxMs: 8_000 },
    { concurrency: 16, orders: 600, maxMs: 10_000 },
    { concurrency: 64, orders: 1_200, maxMs: 10_000 },
  ],
  baselineMaxMs: 3_000,
  createDrainTimeoutMs: 60_000,
  lifecycle: { concurrency: 16, orders: 1_600, loadMs: 40_000, drainTimeoutMs: 90_000 },
  openLoop: {
    orders: openLoop({ searchWindowMs: 15_000, holdWindowMs: 60_000, budgetMs: 240_000 }),
    baseline: openLoop({ searchWindowMs: 15_000, holdWindowMs: 60_000, budgetMs: 180_000 }),
  },
  backlogCheck: { rounds: 2, orders: 600, concurrency: 64, drainTimeoutMs: 60_000 },
  timerSample: 50,
  openOrders: {
    orders: 10_000,
    concurrency: 32,
    fillMs: 90_000,
    deliveryDelaySeconds: LONG_DELIVERY_DELAY_SECONDS,
    smallCacheSize: 200,
    replays: 1_000,
  },
  recovery: { orders: 1_000, concurrency: 32, timeoutMs: 150_000 },
  seed: {
    levels: [
      { concurrency: 16, orders: 600, maxMs: 10_000 },
      { concurrency: 64, orders: 1_200, maxMs: 10_000 },
    ],
    rounds: 2,
    pauseMs: 30_000,
  },
  scaledDown: [],
};

export const quickPlan: BenchPlan = {
  name: 'quick',
  create: [
    { concurrency: 1, orders: 10, maxMs: 1_500 },
    { concurrency: 16, orders: 48, maxMs: 2_000 },
    { concurrency: 64, orders: 64, maxMs: 2_000 },
  ],
  baselineMaxMs: 500,
  createDrainTimeoutMs: 20_000,
  lifecycle: { concurrency: 16, orders: 240, loadMs: 6_000, drainTimeoutMs: 30_000 },
  openLoop: {
    orders: openLoop({ searchWindowMs: 5_000, holdWindowMs: 15_000, budgetMs: 90_000 }),
    baseline: openLoop({ searchWindowMs: 5_000, holdWindowMs: 15_000, budgetMs: 60_000 }),
  },
  backlogCheck: { rounds: 2, orders: 200, concurrency: 64, drainTimeoutMs: 30_000 },
  timerSample: 15,
  openOrders: {
    orders: 1_000,
    concurrency: 32,
    fillMs: 6_000,
    deliveryDelaySeconds: LONG_DELIVERY_DELAY_SECONDS,
    smallCacheSize: 50,
    replays: 60,
  },
  recovery: { orders: 60, concurrency: 32, timeoutMs: 60_000 },
  seed: {
    levels: [
      { concurrency: 16, orders: 48, maxMs: 2_000 },
      { concurrency: 64, orders: 64, maxMs: 2_000 },
    ],
    rounds: 1,
    pauseMs: 5_000,
  },
  scaledDown: [
    '--quick: open orders filled for 6 s only (the issue asks for 10,000), 60 overdue orders instead of 1,000, 240 lifecycle orders, short load windows; the open-loop rate is held for 15 s (the issue asks for 60 s) after 5 s search steps',
  ],
};
