// `--seed URL`: create throughput beside another build of the same two services (the seed: NestJS + bull/Redis), driven
// by the same client with the same bodies. Rounds alternate, this stack's then the seed's, with a pause between them
// so that neither one's background work (deliveries, timers) lands in the other's round.
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop, throughput, type Throughput } from './load';
import { benchCustomer, createOrderViaApi, orderBody, type ApiEndpoint } from './orders';
import type { Progress } from './progress';
import { perSecond } from './stats';

export interface SeedPlan {
  /** Each level is measured `rounds` times on each side, alternating. */
  levels: { concurrency: number; orders: number; maxMs: number }[];
  rounds: number;
  pauseMs: number;
}

export interface SeedRound extends Throughput {
  system: 'this' | 'seed';
  concurrency: number;
  round: number;
}

export interface SeedComparison {
  seedUrl: string;
  pauseMs: number;
  rounds: SeedRound[];
}

export async function measureBesideSeed(
  ours: ApiEndpoint,
  seed: ApiEndpoint,
  runId: string,
  plan: SeedPlan,
  progress: Progress,
): Promise<SeedComparison> {
  const rounds: SeedRound[] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    for (const { concurrency, orders, maxMs } of plan.levels) {
      for (const [system, api] of [
        ['this', ours],
        ['seed', seed],
      ] as const) {
        if (rounds.length > 0) {
          progress.update(`beside the seed: ${plan.pauseMs / 1000} s pause before ${system} c=${concurrency}`);
          await sleep(plan.pauseMs);
        }
        const customerId = benchCustomer(`seed-${system}-c${concurrency}-${round}`, runId);
        const load = await closedLoop({
          concurrency,
          count: orders,
          maxMs,
          operation: async (index) => {
            await createOrderViaApi(api, orderBody(customerId, index));
          },
          onProgress: (done) => progress.update(`beside the seed: ${system} c=${concurrency}: ${done}/${orders}`),
        });
        rounds.push({
          system,
          concurrency,
          round,
          ...throughput(load),
        });
        progress.log(
          `beside the seed, round ${round}: ${system} c=${concurrency} ${perSecond(load.completed, load.elapsedMs).toFixed(0)} orders/s`,
        );
      }
    }
  }
  return { seedUrl: seed.url, pauseMs: plan.pauseMs, rounds };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

/** Rows of `table`: each level's rounds side by side, this stack and the seed, and this ÷ seed. */
export function seedRows(comparison: SeedComparison): (string | number)[][] {
  const levels = [...new Set(comparison.rounds.map((r) => r.concurrency))];
  return levels.flatMap((concurrency) => {
    const of = (system: SeedRound['system']) =>
      comparison.rounds.filter((r) => r.concurrency === concurrency && r.system === system);
    const [mine, seed] = [of('this'), of('seed')];
    const rate = (rounds: SeedRound[]) => rounds.map((r) => fixed(r.perSecond, 0)).join(', ');
    const latency = (rounds: SeedRound[]) =>
      rounds.map((r) => `${fixed(r.latencyMs.p50, 0)} / ${fixed(r.latencyMs.p99, 0)}`).join(', ');
    const mean = (rounds: SeedRound[]) => rounds.reduce((sum, r) => sum + r.perSecond, 0) / rounds.length;
    return [
      [
        concurrency,
        rate(mine),
        rate(seed),
        `${fixed(mean(mine) / mean(seed), 2)}×`,
        latency(mine),
        latency(seed),
        mine.concat(seed).reduce((sum, r) => sum + r.failed, 0),
      ],
    ];
  });
}

export const seedHeaders = [
  'conc',
  'this orders/s',
  'seed orders/s',
  'this ÷ seed',
  'this p50 / p99 ms',
  'seed p50 / p99 ms',
  'errors',
];
