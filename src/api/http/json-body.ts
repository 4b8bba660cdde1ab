// Request bodies: JSON only, at most 64 kB; anything else is refused before a handler runs.
import express, { type Request, type RequestHandler } from 'express';
import { HttpProblem } from './problem';

const jsonTypes = ['application/json', 'application/*+json'];

export const parseJsonBody = express.json({ limit: '64kb', type: jsonTypes });

function isJson(req: Request): boolean {
  const mediaType = req.headers['content-type']?.split(';')[0].trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[\w.-]+\+json$/.test(mediaType);
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * 415 unless the request carries a JSON body; with `optional`, no body at all is also accepted. Not `req.is()`: it
 * counts `Content-Length: 0` (what clients send for a bodiless POST) as a body of no type.
 */
export function requireJsonBody({ optional = false } = {}): RequestHandler {
  return (req, _res, next) => {
    if (optional && !hasBody(req)) return next();
    if (!isJson(req)) {
      throw new HttpProblem(415, 'the request body must be JSON (Content-Type: application/json)', {
        type: '/problems/unsupported-media-type',
      });
    }
    next();
  };
}
