// Requests per caller: the token's subject, or the client's address when it sent no valid token. The counts live in
// this process's memory, so with several API instances behind a load balancer each counts on its own: a caller
// spread over N instances gets up to N times the limit (a shared store, e.g. rate-limit-redis, would make it one).
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Caller } from './auth';
import { HttpProblem } from './problem';

const WINDOW_MS = 60_000;

export function callerRateLimit(limitPerMinute: number): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limitPerMinute,
    // RateLimit and RateLimit-Policy headers (IETF draft 8); Retry-After when refused.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const caller = res.locals.caller as Caller | undefined;
      return caller ? `caller:${caller.subject}` : `address:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (_req, _res, next) => {
      next(new HttpProblem(429, 'too many requests from this caller; retry later', { type: '/problems/rate-limited' }));
    },
  });
}
