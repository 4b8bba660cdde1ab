// Every error leaves the API as application/problem+json (RFC 9457): never a stack trace, never HTML.
import { STATUS_CODES } from 'node:http';
import { Router, type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { isPostgresUnavailable, isTemporalUnavailable } from './unavailable';

export interface FieldError {
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Thrown by handlers for a known, client-facing failure; the error handler renders it. */
export class HttpProblem extends Error {
  readonly problem: Problem;

  constructor(status: number, detail: string, extra: Partial<Problem> = {}) {
    super(detail);
    this.name = 'HttpProblem';
    this.problem = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, ...extra };
  }
}

export const notFound = (detail: string) => new HttpProblem(404, detail);

export function sendProblem(res: Response, problem: Problem): void {
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * For every path of the contract, a method it does not serve is 405 with `Allow` (OPTIONS is answered by express's
 * routers with `Allow`).
 * The methods come from the OpenAPI document, so the answer cannot drift from the routes it describes.
 */
export function methodNotAllowed(paths: Record<string, object>): Router {
  const router = Router();
  for (const [path, operations] of Object.entries(paths)) {
    const methods = Object.keys(operations).filter((key) => HTTP_METHODS.includes(key));
    if (methods.includes('get') && !methods.includes('head')) methods.push('head');
    const allow = methods.map((method) => method.toUpperCase()).join(', ');
    router.all(path.replace(/\{(\w+)\}/g, ':$1'), (req, res) => {
      res.setHeader('Allow', allow);
      throw new HttpProblem(405, `${req.method} is not served on ${req.path}; it serves ${allow}`);
    });
  }
  return router;
}

export const unknownRoute: RequestHandler = (req) => {
  throw notFound(`no route for ${req.method} ${req.path}`);
};

// body-parser reports what went wrong with a request body in `type`.
const bodyProblems: Record<string, { status: number; detail: string }> = {
  'entity.parse.failed': { status: 400, detail: 'the request body is not valid JSON' },
  'entity.too.large': { status: 413, detail: 'the request body is larger than 64 kB' },
  'entity.verify.failed': { status: 400, detail: 'the request body could not be verified' },
  'request.aborted': { status: 400, detail: 'the request body was not received completely' },
  'request.size.invalid': { status: 400, detail: 'the request body does not match its Content-Length' },
  'charset.unsupported': { status: 415, detail: 'the request body must be UTF-8 JSON' },
  'encoding.unsupported': { status: 415, detail: 'the request body uses an unsupported Content-Encoding' },
};

function clientProblem(error: unknown): Problem | undefined {
  if (error instanceof HttpProblem) return error.problem;
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status } = error as { type?: unknown; status?: unknown };
  const body = typeof type === 'string' ? bodyProblems[type] : undefined;
  if (body) return new HttpProblem(body.status, body.detail).problem;
  // The router cannot decode a path such as /orders/%zz: such a path names no resource.
  if ((error as { name?: unknown }).name === 'URIError') return notFound('the path is not a valid URL path').problem;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, STATUS_CODES[status] ?? 'the request was refused').problem;
  }
  return undefined;
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const known = clientProblem(error);
    if (known) return sendProblem(res, known);
    const unavailable = isTemporalUnavailable(error) ? 'temporal' : isPostgresUnavailable(error) ? 'postgres' : null;
    if (unavailable) {
      (req.log ?? logger).warn({ err: error }, `${unavailable} unavailable`);
      res.setHeader('Retry-After', '5');
      // A timeout may mean a slow server, not a down one: a create may have started, so say how to retry safely.
      const detail =
        unavailable === 'temporal'
          ? 'temporal did not answer in time (the order may not be recorded yet); retry later, for a create with the same Idempotency-Key'
          : 'postgres is not reachable; retry later';
      return sendProblem(res, new HttpProblem(503, detail).problem);
    }
    (req.log ?? logger).error({ err: error }, 'unexpected error');
    sendProblem(res, new HttpProblem(500, 'an unexpected error occurred; it has been logged').problem);
  };
}
