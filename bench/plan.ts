// How much load each measurement applies: fixed counts and durations, so a run's length is known in advance.
import type { CreateLevelPlan } from './create';
import type { OpenOrdersPlan } from './footprint';
import type { LifecyclePlan } from './lifecycle';

export interface BenchPlan {
  name: 'quick' | 'default';
  create: CreateLevelPlan[];
  /** The baselines at each create level: at most this long each (their counts are the create level's, doubled). */
  baselineMaxMs: number;
  createDrainTimeoutMs: number;
  lifecycle: LifecyclePlan;
  /** Orders whose histories explain where delivery lateness arises. */
  timerSample: number;
  openOrders: OpenOrdersPlan;
  recovery: { orders: number; concurrency: number; timeoutMs: number };
  /** Said in the output when a figure is smaller than the issue asks for. */
  scaledDown: string[];
}

/** The lifecycle's delivery delay (the API's DELIVERY_DELAY_SECONDS in the bench's own stack). */
export const LIFECYCLE_DELIVERY_DELAY_SECONDS = 1;
/** Open orders wait on a timer this long: none is delivered during the run. */
const LONG_DELIVERY_DELAY_SECONDS = 3_600;

export const defaultPlan: BenchPlan = {
  name: 'default',
  create: [
    { concurrency: 1, orders: 200, maxMs: 10_000 },
    { concurrency: 16, orders: 1_000, maxMs: 15_000 },
    { concurrency: 64, orders: 2_000, maxMs: 15_000 },
  ],
  baselineMaxMs: 5_000,
  createDrainTimeoutMs: 60_000,
  lifecycle: { concurrency: 16, loadMs: 60_000, drainTimeoutMs: 60_000 },
  timerSample: 50,
  openOrders: {
    orders: 10_000,
    concurrency: 32,
    smallCacheSize: 200,
    deliveryDelaySeconds: LONG_DELIVERY_DELAY_SECONDS,
    timeoutMs: 240_000,
  },
  recovery: { orders: 1_000, concurrency: 32, timeoutMs: 120_000 },
  scaledDown: [],
};

export const quickPlan: BenchPlan = {
  name: 'quick',
  create: [
    { concurrency: 1, orders: 30, maxMs: 3_000 },
    { concurrency: 16, orders: 200, maxMs: 4_000 },
    { concurrency: 64, orders: 300, maxMs: 4_000 },
  ],
  baselineMaxMs: 1_500,
  createDrainTimeoutMs: 20_000,
  lifecycle: { concurrency: 16, loadMs: 10_000, drainTimeoutMs: 20_000 },
  timerSample: 20,
  openOrders: {
    orders: 1_000,
    concurrency: 32,
    smallCacheSize: 100,
    deliveryDelaySeconds: LONG_DELIVERY_DELAY_SECONDS,
    timeoutMs: 60_000,
  },
  recovery: { orders: 200, concurrency: 32, timeoutMs: 60_000 },
  scaledDown: [
    '--quick: 1,000 open orders instead of 10,000 (footprint), 200 overdue orders instead of 1,000 (recovery), short load windows',
  ],
};
