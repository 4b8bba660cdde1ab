// One log line per request (pino-http) with a fixed set of fields: method, route template, status, duration, request
// id, and the caller's subject and role. Never a header, a path or a query string: they carry tokens.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Caller } from './auth';
import { routeTemplate } from './route-template';

const REQUEST_ID_HEADER = 'X-Request-Id';

// An incoming id is trusted only if it is short and plain, so it cannot forge log content.
const acceptableRequestId = /^[\w.:@-]{1,128}$/;

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && acceptableRequestId.test(incoming) ? incoming : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** Who called, as the API verified the token (src/api/http/auth.ts); `anonymous` without a valid one. */
function callerFields(res: ServerResponse): { subject: string | null; role: Caller['role'] | 'anonymous' } {
  const caller = (res as Response).locals?.caller as Caller | undefined;
  return caller ? { subject: caller.subject, role: caller.role } : { subject: null, role: 'anonymous' };
}

function requestLine(req: IncomingMessage, res: ServerResponse, durationMs: number) {
  return { method: req.method, route: routeTemplate(req), status: res.statusCode, durationMs, ...callerFields(res) };
}

export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestId,
    // Other lines about a request (req.log) carry its id alone; the line at its end carries the fields above.
    quietReqLogger: true,
    quietResLogger: true,
    // Anything that logs a request or response as such gets the same few fields, never their headers or URL.
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => ({ method: req.method, route: routeTemplate(req) }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
    },
    customAttributeKeys: { responseTime: 'durationMs' },
    customSuccessObject: (req, res, { durationMs }: { durationMs: number }) => requestLine(req, res, durationMs),
    customErrorObject: (req, res, err, { durationMs }: { durationMs: number }) => ({
      ...requestLine(req, res, durationMs),
      err,
    }),
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    // Probes and scrapes would drown the interesting lines.
    autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
  });
}
