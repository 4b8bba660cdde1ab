// Sustained rate, open loop: arrivals sent on a fixed schedule whatever the answers (a fixed count over a fixed
// window), and the highest rate the stack holds: every arrival accepted, the backlog (accepted, not final) within
// what the allowed lateness implies and not growing through the window, and lateness (final − scheduled arrival −
// the designed delay) p99 within a bound.
// Rates are searched in short windows (step up, then bisect), then the best is held for the full window.
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from './load';
import type { Progress } from './progress';
import { distribution, type Distribution } from './stats';

/** What is driven: orders through the API, or the one-activity baseline workflows. */
export interface OpenLoopSubject {
  name: string;
  /** Work the design itself adds to each arrival (the delivery delay), milliseconds. */
  designedDelayMs: number;
  /** A fresh set of arrivals for one step (orders of a customer of the step's own). */
  step(label: string): OpenLoopStep;
}

export interface OpenLoopStep {
  /** Sends arrival `index`; resolves with the id of what was accepted, rejects when it was not. */
  send(index: number): Promise<string>;
  /** How many of `ids` are final. */
  finalCount(ids: readonly string[]): Promise<number>;
  /** When each final one of `ids` became final, epoch milliseconds. */
  finalTimes(ids: readonly string[]): Promise<Map<string, number>>;
}

export interface OpenLoopPlan {
  /** Each search step lasts this long. */
  searchWindowMs: number;
  /** The best rate found is then held this long: the figure. */
  holdWindowMs: number;
  /** The whole search and hold, at most (a step that would not fit is not begun). */
  budgetMs: number;
  /** Lateness p99 at most this. */
  maxLatenessMs: number;
  /** Backlog growth over the window's second half at most this share of the rate (per second). */
  maxGrowthShare: number;
  /** Between steps, the time the backlog may take to empty. */
  drainTimeoutMs: number;
}

export interface OpenLoopStepResult {
  /** Names the step's arrivals (the orders' customer: `bench-open-loop-<label>-<run>`). */
  stepLabel: string;
  ratePerSecond: number;
  windowMs: number;
  /** Search step or the final hold. */
  kind: 'search' | 'hold';
  scheduled: number;
  sent: number;
  accepted: number;
  failures: Record<string, number>;
  /** Answer time of each accepted arrival, from its scheduled time. */
  answerMs: Distribution;
  /** How late the sender itself sent, from the schedule: the bench shares the machine. */
  sendLagMs: Distribution;
  /** Backlog (sent, not failed, not final) once a second, from the window's start. */
  backlog: { atMs: number; open: number }[];
  /** Least-squares slope of the backlog over the window's second half, per second. */
  backlogGrowthPerSecond: number;
  /** The second half's mean backlog may not pass rate × (designed delay + allowed lateness) + 5. */
  backlogBound: number;
  /** Final − scheduled − designed delay; an arrival not final when the step was judged counts with its age. */
  latenessMs: Distribution;
  /** The sending stopped early because the backlog was already past any bound. */
  abandoned: boolean;
  held: boolean;
  /** Why it was not held. */
  reasons: string[];
  /** After the window, until the backlog was empty; undefined when it did not empty in time. */
  drainMs: number | undefined;
}

export interface OpenLoopResult {
  subject: string;
  designedDelayMs: number;
  /** The highest rate held for the full hold window; undefined when none was within the budget. */
  sustainedPerSecond: number | undefined;
  holdWindowMs: number;
  steps: OpenLoopStepResult[];
  elapsedMs: number;
}

/** Least-squares slope of y over x (x in milliseconds), per second. */
function slopePerSecond(points: readonly { atMs: number; open: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.atMs, 0) / n;
  const my = points.reduce((s, p) => s + p.open, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.atMs - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.atMs - mx) * (p.open - my), 0);
  return sxx > 0 ? (sxy / sxx) * 1000 : 0;
}

async function runStep(
  subject: OpenLoopSubject,
  plan: OpenLoopPlan,
  ratePerSecond: number,
  windowMs: number,
  kind: 'search' | 'hold',
  progress: Progress,
): Promise<OpenLoopStepResult> {
  const label = `open loop ${subject.name} ${ratePerSecond}/s`;
  const stepLabel = `${kind}-${ratePerSecond}`.replace('.', '_');
  const step = subject.step(stepLabel);
  const scheduled = Math.max(1, Math.round((ratePerSecond * windowMs) / 1000));
  const intervalMs = 1000 / ratePerSecond;
  // Past this many open, the median arrival is seconds late: the step has failed, sending on only adds to the drain.
  const abandonAt = Math.ceil(ratePerSecond * ((subject.designedDelayMs + 5_000) / 1000)) + 20;
  const ids: string[] = [];
  const arrivalAt = new Map<string, number>();
  const answerMs: number[] = [];
  const sendLagMs: number[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  let sent = 0;
  let abandoned = false;
  const backlog: { atMs: number; open: number }[] = [];
  const startedAt = Date.now() + 50;
  let sending = true;

  const sampling = (async () => {
    while (sending) {
      const open = sent - failed - (await step.finalCount(ids));
      backlog.push({ atMs: Date.now() - startedAt, open });
      if (open > abandonAt) abandoned = true;
      progress.update(`${label}: ${sent}/${scheduled} sent, backlog ${open}`);
      await sleep(1_000);
    }
  })();

  const inFlight: Promise<void>[] = [];
  for (let index = 0; index < scheduled && !abandoned; index++) {
    const due = startedAt + index * intervalMs;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    sendLagMs.push(Math.max(0, Date.now() - due));
    sent++;
    inFlight.push(
      step.send(index).then(
        (id) => {
          answerMs.push(Date.now() - due);
          ids.push(id);
          arrivalAt.set(id, due);
        },
        (error: unknown) => {
          failed++;
          const reason = error instanceof OperationError ? error.kind : error instanceof Error ? error.name : 'error';
          failures[reason] = (failures[reason] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  sending = false;
  await sampling;
  const lastArrival = startedAt + (sent - 1) * intervalMs;

  // Judged once the last arrival had its delay and the allowed lateness, and a little more for the last writes.
  const judgeAt = lastArrival + subject.designedDelayMs + plan.maxLatenessMs + 2_000;
  while (Date.now() < judgeAt && (await step.finalCount(ids)) < ids.length) {
    progress.update(`${label}: waiting for the last arrivals`);
    await sleep(Math.min(500, Math.max(0, judgeAt - Date.now())));
  }
  const finals = await step.finalTimes(ids);
  const judgedAt = Date.now();
  const lateness = ids.map(
    (id) => (finals.get(id) ?? judgedAt) - (arrivalAt.get(id) ?? judgedAt) - subject.designedDelayMs,
  );
  const latenessMs = distribution(lateness);
  const secondHalf = backlog.filter((p) => p.atMs >= windowMs / 2);
  const backlogGrowthPerSecond = slopePerSecond(secondHalf);

  // Little's law: arrivals that each stay their delay and at most the allowed lateness leave at most this many open.
  const backlogBound = Math.ceil((ratePerSecond * (subject.designedDelayMs + plan.maxLatenessMs)) / 1000) + 5;
  const secondHalfMean = secondHalf.reduce((sum, p) => sum + p.open, 0) / Math.max(1, secondHalf.length);

  const reasons: string[] = [];
  if (failed > 0) reasons.push(`${failed} not accepted`);
  if (abandoned) reasons.push(`backlog past ${abandonAt}, sending stopped`);
  if (secondHalfMean > backlogBound) reasons.push(`backlog ${secondHalfMean.toFixed(0)} > ${backlogBound}`);
  // A slope of a few one-second samples of small counts is noise: judged on ten or more, and on more than ±1 order.
  if (
    secondHalf.length >= 10 &&
    backlogGrowthPerSecond > Math.max(plan.maxGrowthShare * ratePerSecond, 1 / (windowMs / 2000))
  ) {
    reasons.push(`backlog growing ${backlogGrowthPerSecond.toFixed(1)}/s`);
  }
  if (!(latenessMs.p99 <= plan.maxLatenessMs)) reasons.push(`lateness p99 ${latenessMs.p99.toFixed(0)} ms`);

  const drainStart = Date.now();
  let drainMs: number | undefined;
  for (;;) {
    const open = ids.length - (await step.finalCount(ids));
    if (open <= 0) {
      drainMs = Date.now() - drainStart;
      break;
    }
    if (Date.now() - drainStart > plan.drainTimeoutMs) break;
    progress.update(`${label}: draining, ${open} not final`);
    await sleep(500);
  }

  const result: OpenLoopStepResult = {
    stepLabel,
    ratePerSecond,
    windowMs,
    kind,
    scheduled,
    sent,
    accepted: ids.length,
    failures,
    answerMs: distribution(answerMs),
    sendLagMs: distribution(sendLagMs),
    backlog,
    backlogGrowthPerSecond,
    backlogBound,
    latenessMs,
    abandoned,
    held: reasons.length === 0,
    reasons,
    drainMs,
  };
  progress.log(
    `${label} for ${(windowMs / 1000).toFixed(0)} s (${kind}): ${result.held ? 'held' : `not held (${reasons.join('; ')})`}` +
      ` — ${ids.length}/${scheduled} accepted, backlog max ${Math.max(0, ...backlog.map((p) => p.open))}` +
      ` (${backlogGrowthPerSecond >= 0 ? '+' : ''}${backlogGrowthPerSecond.toFixed(1)}/s), lateness p50/p99` +
      ` ${latenessMs.p50.toFixed(0)}/${latenessMs.p99.toFixed(0)} ms, answer p99 ${result.answerMs.p99.toFixed(0)} ms`,
  );
  return result;
}

/** Rates read well rounded: whole numbers from 10/s, one decimal below. */
function roundRate(rate: number): number {
  return rate >= 10 ? Math.round(rate) : Math.max(0.5, Math.round(rate * 10) / 10);
}

/**
 * Searches from `hintPerSecond` (a closed-loop throughput of the same stack): up by 1.3× while held, down by 0.6×
 * while not, then bisects between the best held and the lowest not held; then holds the best for the hold window,
 * stepping down by 0.8× while it does not hold. Every step fits in the budget or is not begun.
 */
export async function measureSustainedRate(
  subject: OpenLoopSubject,
  plan: OpenLoopPlan,
  hintPerSecond: number,
  progress: Progress,
): Promise<OpenLoopResult> {
  const started = Date.now();
  const steps: OpenLoopStepResult[] = [];
  // A step's length: its window, the delay and lateness of its last arrival, a margin for its drain.
  const cost = (windowMs: number) => windowMs + subject.designedDelayMs + plan.maxLatenessMs + 7_000;
  const fits = (windowMs: number, reserveMs: number) =>
    Date.now() - started + cost(windowMs) + reserveMs <= plan.budgetMs;
  const run = async (rate: number, windowMs: number, kind: 'search' | 'hold') => {
    const result = await runStep(subject, plan, rate, windowMs, kind, progress);
    steps.push(result);
    return result;
  };

  let best: number | undefined;
  let lowestFailed: number | undefined;
  let rate = roundRate(Math.max(1, (Number.isFinite(hintPerSecond) ? hintPerSecond : 5) * 0.7));
  const holdReserve = cost(plan.holdWindowMs);
  // Up, or down, until held and not held are both known.
  while (fits(plan.searchWindowMs, holdReserve)) {
    const result = await run(rate, plan.searchWindowMs, 'search');
    if (result.drainMs === undefined) break; // the stack could not even empty its backlog: searching on says nothing
    if (result.held) {
      best = rate;
      if (lowestFailed !== undefined) break;
      rate = roundRate(rate * 1.3);
    } else {
      lowestFailed = rate;
      if (best !== undefined) break;
      rate = roundRate(rate * 0.6);
    }
    if (rate === best || rate === lowestFailed) break;
  }
  // Bisect while the bracket is wider than a tenth.
  while (best !== undefined && lowestFailed !== undefined && lowestFailed / best > 1.1) {
    const middle = roundRate((best + lowestFailed) / 2);
    if (middle === best || middle === lowestFailed || !fits(plan.searchWindowMs, holdReserve)) break;
    const result = await run(middle, plan.searchWindowMs, 'search');
    if (result.held) best = middle;
    else lowestFailed = middle;
    if (result.drainMs === undefined) break;
  }

  let sustainedPerSecond: number | undefined;
  let holdRate = best;
  while (holdRate !== undefined && fits(plan.holdWindowMs, 0)) {
    const result = await run(holdRate, plan.holdWindowMs, 'hold');
    if (result.held) {
      sustainedPerSecond = holdRate;
      break;
    }
    const lower = roundRate(holdRate * 0.8);
    if (lower === holdRate || result.drainMs === undefined) break;
    holdRate = lower;
  }
  const elapsedMs = Date.now() - started;
  progress.log(
    `open loop ${subject.name}: ${sustainedPerSecond === undefined ? 'no rate held within the budget' : `${sustainedPerSecond}/s held for ${(plan.holdWindowMs / 1000).toFixed(0)} s`}` +
      ` (${steps.length} steps, ${(elapsedMs / 1000).toFixed(0)} s)`,
  );
  return {
    subject: subject.name,
    designedDelayMs: subject.designedDelayMs,
    sustainedPerSecond,
    holdWindowMs: plan.holdWindowMs,
    steps,
    elapsedMs,
  };
}
