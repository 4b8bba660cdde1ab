// Liveness (the process answers) and readiness (Postgres and Temporal both answer, each within a short timeout).
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/knex';
import { HttpProblem, sendProblem } from '../problem';

export interface HealthDeps {
  db: Db;
  client: Client;
  readinessTimeoutMs: number;
}

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function answers(check: () => Promise<unknown>, timeoutMs: number): Promise<'up' | 'down'> {
  try {
    await within(timeoutMs, check());
    return 'up';
  } catch {
    return 'down';
  }
}

export function healthRoutes({ db, client, readinessTimeoutMs }: HealthDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
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
    const checks = { postgres, temporal };
    if (postgres === 'up' && temporal === 'up') {
      res.json({ status: 'ready', checks });
      return;
    }
    const down = Object.entries(checks)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name);
    sendProblem(res, new HttpProblem(503, `not ready: ${down.join(' and ')} not answering`, { checks }).problem);
  });

  return router;
}
