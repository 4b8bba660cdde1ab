// Liveness (the process answers) and readiness (Postgres and Temporal both answer, each within a short timeout).
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/knex';
import { describeFailure, withTimeout } from '../../dependencies';
import { HttpProblem, sendProblem } from '../http/problem';

export interface HealthDeps {
  db: Db;
  client: Client;
  readinessTimeoutMs: number;
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

export function healthRoutes({ db, client, readinessTimeoutMs }: HealthDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [postgresAnswer, temporalAnswer] = await Promise.all([
      answers(() => db.raw('select 1'), readinessTimeoutMs),
      answers(
        () =>
          client.connection.withDeadline(Date.now() + readinessTimeoutMs, () =>
            client.workflowService.getSystemInfo({}),
          ),
        readinessTimeoutMs,
      ),
    ]);
    const answered = { postgres: postgresAnswer, temporal: temporalAnswer };
    const checks = { postgres: state(postgresAnswer), temporal: state(temporalAnswer) };
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
