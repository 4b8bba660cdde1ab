// Liveness (the process answers) and readiness (Postgres and Temporal both answer, each within a short timeout). Both
// answer without a token, so one readiness check is shared by every caller for a moment rather than made per request.
import { Router } from 'express';
import { LRUCache } from 'lru-cache';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/knex';
import { describeFailure, withTimeout } from '../../dependencies';
import { HttpProblem, sendProblem } from '../http/problem';

export interface HealthDeps {
  db: Db;
  client: Client;
  readinessTimeoutMs: number;
  /** How long one readiness check answers for every caller (concurrent callers share the one in flight). */
  readinessSharedMs: number;
}

/** `up`, or why not in a few words (e.g. `connection refused`). */
async function answers(check: () => Promise<unknown>, timeoutMs: number): Promise<'up' | { down: string }> {
  try {
    await withTimeout(check(), timeoutMs);
    return 'up';
  } catch (error) {
    return { down: describeFailure(error) };
  }
}

const state = (answer: 'up' | { down: string }) => (answer === 'up' ? 'up' : 'down');

export function healthRoutes({ db, client, readinessTimeoutMs, readinessSharedMs }: HealthDeps): Router {
  const router = Router();
  const readiness = new LRUCache<'now', Record<'postgres' | 'temporal', 'up' | { down: string }>>({
    max: 1,
    ttl: readinessSharedMs,
    fetchMethod: async () => {
      const [postgres, temporal] = await Promise.all([
        answers(() => db.raw('select 1'), readinessTimeoutMs),
        answers(
          () =>
            client.connection.withDeadline(Date.now() + readinessTimeoutMs, () =>
              client.workflowService.getSystemInfo({}),
            ),
          readinessTimeoutMs,
        ),
      ]);
      return { postgres, temporal };
    },
  });

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const answered = await readiness.forceFetch('now');
    const checks = { postgres: state(answered.postgres), temporal: state(answered.temporal) };
    const down = Object.entries(answered).flatMap(([name, answer]) =>
      answer === 'up' ? [] : [`${name} not answering (${answer.down})`],
    );
    if (down.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    sendProblem(res, new HttpProblem(503, `not ready: ${down.join(' and ')}`, { checks }).problem);
  });

  return router;
}
