// `npm run token -- --customer <id>` or `npm run token -- --operator`: a token for the embedded default's API, on one
// line. `--expires-in <duration>` (e.g. 15m, 2h, 7d; default 12h). The key is the one the API verifies with
// (AUTH_KEY_FILE, made under .data/ on first use).
import { parseArgs } from 'node:util';
import { signToken, loadOrCreateSigningKey } from '../src/api/auth-keys';
import { ConfigError, loadConfig } from '../src/config';

const usage = 'usage: npm run token -- (--customer <id> | --operator) [--expires-in <duration>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      customer: { type: 'string' },
      operator: { type: 'boolean', default: false },
      'expires-in': { type: 'string', default: '12h' },
    },
  });
  const { customer, operator } = values;
  if ((customer === undefined) === !operator || (customer !== undefined && !/^.{1,64}$/.test(customer))) {
    throw new ConfigError(usage);
  }
  const expiresIn = values['expires-in'];
  if (!/^\d+\s*(s|m|h|d|w)$/.test(expiresIn)) throw new ConfigError(`--expires-in ${expiresIn}: like 15m, 2h or 7d`);
  const config = loadConfig();
  if (config.AUTH_JWKS_URL) {
    throw new ConfigError('AUTH_JWKS_URL is set: tokens come from your identity provider, not from this script');
  }
  const key = await loadOrCreateSigningKey(config.AUTH_KEY_FILE);
  const token = await signToken(key, {
    subject: customer ?? 'operator',
    role: operator ? 'operator' : 'customer',
    expiresIn,
  });
  console.log(token);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `token: ${error.message}` : error);
  process.exit(2);
});
