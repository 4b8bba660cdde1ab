// The codec endpoint of the Temporal Web UI and CLI (their codec server protocol): POST /codec/decode and
// /codec/encode with `{ payloads }` in Temporal's JSON form. Only for an operator (src/api/http/policy.ts): the token
// comes as a Bearer header (the CLI's --codec-auth) or in the path, /codec/t/<token>/decode, for a Web UI that sends
// no header of its own. No valid token is 401, a customer's 403, as on every other route.
// CORS admits the Web UI's origins only, answering each with its own: a browser accepts one origin in the header.
import cors from 'cors';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { callerOf, type Authenticator } from '../http/auth';
import { assertOperator } from '../http/policy';
import { HttpProblem } from '../http/problem';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecRouteDeps {
  codec: PayloadCodec;
  authenticator: Authenticator;
  /** The Web UI's origins, e.g. http://localhost:8233. */
  corsOrigins: string[];
  /** Counts each caller's requests (the count the other routes that take a token share). */
  rateLimit: RequestHandler;
}

const fromJson = ({ metadata = {}, data = '' }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(data, 'base64'),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')]),
  ),
  data: Buffer.from(data ?? []).toString('base64'),
});

function payloadsOf(body: unknown): JsonPayload[] {
  const payloads = (body as { payloads?: unknown } | undefined)?.payloads;
  const valid =
    Array.isArray(payloads) && payloads.every((p: unknown) => typeof p === 'object' && p !== null && !Array.isArray(p));
  if (!valid) throw new HttpProblem(400, 'the body must be { "payloads": [ { "metadata": {…}, "data": "…" } ] }');
  return payloads as JsonPayload[];
}

export function codecRoutes({ codec, authenticator, corsOrigins, rateLimit }: CodecRouteDeps): Router {
  const router = Router();
  // A list: the cors package answers an origin on it with that origin alone, and any other with none.
  const admit = cors({
    origin: corsOrigins,
    methods: ['POST'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
  });

  // The caller is known, counted and checked before a body of up to 8 MB is parsed.
  const identifyCaller = authenticator.identifyCaller((req) =>
    req.params.token ? `Bearer ${req.params.token}` : req.get('authorization'),
  );
  const requireOperator: RequestHandler = (_req, res, next) => {
    assertOperator(callerOf(res), 'decodes and encodes payloads');
    next();
  };
  for (const base of ['/codec', '/codec/t/:token']) {
    for (const operation of ['encode', 'decode'] as const) {
      router.options(`${base}/${operation}`, admit);
      router.post(
        `${base}/${operation}`,
        admit,
        identifyCaller,
        rateLimit,
        authenticator.requireCaller,
        requireOperator,
        express.json({ limit: '8mb' }),
        async (req: Request, res: Response) => {
          const payloads = payloadsOf(req.body).map(fromJson);
          const done = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
          res.json({ payloads: done.map(toJson) });
        },
      );
    }
  }
  return router;
}
