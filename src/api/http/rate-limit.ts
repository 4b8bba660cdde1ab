// Requests per caller and minute, by role: a customer (its token's subject), an operator (higher), and a caller
// without a valid token, counted by address (lowest). docs/decisions.md says how each default follows from the
// stack's measured capacity. The counts live in this process's memory: behind a load balancer over N API instances a
// caller can make up to N times its limit (docs/http-api.md, and why no shared store: docs/decisions.md).
import type { RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Logger } from '../../logging';
import type { Caller } from './auth';
import { HttpProblem } from './problem';

export type LimitedRole = Caller['role'] | 'anonymous';
/** Requests per minute for each kind of caller. */
export type RateLimits = Record<LimitedRole, number>;

const WINDOW_MS = 60_000;

function callerOf(res: Response): Caller | undefined {
  return res.locals.caller as Caller | undefined;
}

const roleOf = (res: Response): LimitedRole => callerOf(res)?.role ?? 'anonymous';

/** Counts each request of a caller identified before it (res.locals.caller), or of its address without one. */
export function callerRateLimit(limits: RateLimits, logger: Logger): RequestHandler {
  return rateLimit({
    // The library's own warnings (its checks of these options) as log lines like every other, not on the console.
    logger,
    windowMs: WINDOW_MS,
    limit: (_req, res) => limits[roleOf(res)],
    // RateLimit and RateLimit-Policy headers (IETF draft 8), the policy named by the caller's role; Retry-After when
    // refused.
    standardHeaders: 'draft-8',
    identifier: (_req, res) => roleOf(res),
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const caller = callerOf(res);
      return caller ? `${caller.role}:${caller.subject}` : `address:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (_req, res, next) => {
      next(
        new HttpProblem(429, `too many requests from this ${roleOf(res)} caller; retry later`, {
          type: '/problems/rate-limited',
        }),
      );
    },
  });
}
