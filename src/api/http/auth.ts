// Who is calling: a Bearer JWT verified with jose against the identity provider's JWKS (production) or the embedded
// default's key. A customer token's `sub` is the customer id; `role: "operator"` may do everything.
import type { Request, RequestHandler } from 'express';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { isStorableText, ORDER_LIMITS } from '../../domain';
import { HttpProblem } from './problem';

export type Caller = { role: 'customer'; subject: string } | { role: 'operator'; subject: string };

export interface AuthOptions {
  /** The identity provider's JWKS, or the embedded default's public keys. */
  keys: URL | JWK[];
  issuer: string;
  audience: string;
}

// Asymmetric algorithms only: a token signed with HS256 using a public key as its secret is refused, as is `none`.
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
/** Far above any real token; a larger header is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8 * 1024;

export class Unauthenticated extends HttpProblem {
  constructor(detail: string) {
    super(401, detail, { type: '/problems/unauthenticated' });
  }
}

/** The verified caller of a request (set by `identifyCaller`, required by `requireCaller`). */
export function callerOf(res: { locals: Record<string, unknown> }): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new Unauthenticated('a Bearer token is required');
  return caller;
}

export function createAuthenticator({ keys, issuer, audience }: AuthOptions) {
  const keySet: JWTVerifyGetKey = keys instanceof URL ? createRemoteJWKSet(keys) : createLocalJWKSet({ keys });

  async function verify(header: string | undefined): Promise<Caller> {
    if (!header) throw new Unauthenticated('a Bearer token is required');
    const [scheme, token, ...rest] = header.split(' ');
    if (scheme.toLowerCase() !== 'bearer' || !token || rest.length > 0) {
      throw new Unauthenticated('the Authorization header must be `Bearer <token>`');
    }
    if (token.length > MAX_TOKEN_LENGTH) throw new Unauthenticated('the token is too large');
    try {
      const { payload } = await jwtVerify(token, keySet, { issuer, audience, algorithms: ALGORITHMS });
      // The subject is stored with each cancel it asks for, and for a customer it is the customer id.
      if (!isStorableText(payload.sub, ORDER_LIMITS.customerIdLength)) {
        throw new Unauthenticated(`the token names no subject of 1–${ORDER_LIMITS.customerIdLength} characters`);
      }
      return payload.role === 'operator'
        ? { role: 'operator', subject: payload.sub }
        : { role: 'customer', subject: payload.sub };
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      throw new Unauthenticated(describeRefusal(error));
    }
  }

  /**
   * Verifies the token when one is sent (in the Authorization header, unless a route says where else it comes); the
   * verdict waits in res.locals until a route requires a caller.
   */
  const identifyCaller =
    (authorization = (req: Request) => req.get('authorization')): RequestHandler =>
    async (req, res, next) => {
      try {
        res.locals.caller = await verify(authorization(req));
      } catch (error) {
        res.locals.authError = error;
      }
      next();
    };

  const requireCaller: RequestHandler = (_req, res, next) => {
    if (res.locals.caller) return next();
    throw res.locals.authError ?? new Unauthenticated('a Bearer token is required');
  };

  return { identifyCaller, requireCaller, verify };
}

function describeRefusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not accepted";
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return 'the token is not signed by a known key';
  }
  return 'the token is malformed';
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
