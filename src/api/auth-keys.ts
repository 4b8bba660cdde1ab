// The embedded default's token signing key: an ES256 pair generated once under .data/ (nothing to configure), used by
// the API to verify tokens and by `npm run token` to sign them. Production verifies against AUTH_JWKS_URL instead.
import { randomUUID } from 'node:crypto';
import { readOrCreateSecret } from '../secret-files';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export const EMBEDDED_ISSUER = 'order-system';
export const EMBEDDED_AUDIENCE = 'order-system-api';
export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A new ES256 key pair. */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const kid = randomUUID();
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALGORITHM },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' },
  };
}

/** The key in `path`, made there first (mode 0600) when missing. */
export function loadOrCreateSigningKey(path: string): Promise<SigningKey> {
  return readOrCreateSecret(path, createSigningKey);
}

export interface TokenClaims {
  subject: string;
  role: 'customer' | 'operator';
  /** A jose duration (`15m`, `1h`, `7d`). */
  expiresIn?: string;
}

/** A token the embedded default's API accepts. */
export async function signToken(key: SigningKey, { subject, role, expiresIn = '12h' }: TokenClaims): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, SIGNING_ALGORITHM);
  return new SignJWT(role === 'operator' ? { role } : {})
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(EMBEDDED_ISSUER)
    .setAudience(EMBEDDED_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(privateKey);
}

/** What the API verifies embedded-default tokens with. */
export function embeddedAuthOptions(key: SigningKey) {
  return { keys: [key.publicJwk], issuer: EMBEDDED_ISSUER, audience: EMBEDDED_AUDIENCE };
}
