// The embedded default (README's "Two commands"): PostgreSQL and a Temporal dev server kept under .data/, for `npm start`,
// `npm run db` and `npm run temporal`.
import { join } from 'node:path';
import { loadOrCreateSigningKey, signToken } from '../../src/api/auth-keys';
import type { Config } from '../../src/config';
import type { Log } from './exec';
import { createDatabase, reachableDataDir, startEmbeddedPostgres } from './postgres';
import { resolveTemporalCli } from './temporal-cli';
import { startTemporalDevServer } from './temporal-server';

export interface Stoppable {
  stop(): Promise<void>;
}

export const LOCAL_TEMPORAL_PORT = 7233;
export const LOCAL_TEMPORAL_UI_PORT = 8233;

export async function startLocalDatabase({
  root,
  port,
  log,
}: {
  root: string;
  port: number;
  log: Log;
}): Promise<Stoppable> {
  const dataDir = await reachableDataDir(join(root, '.data', 'postgres'), log);
  const postgres = await startEmbeddedPostgres({ dataDir, port, persistent: true, log });
  if (await createDatabase(postgres.url, 'orders')) log('created database orders');
  log(`PostgreSQL ready on 127.0.0.1:${port} (data in ${dataDir})`);
  return postgres;
}

export async function startLocalTemporal({
  root,
  log,
  uiCodecEndpoint,
}: {
  root: string;
  log: Log;
  /** Where the Web UI decodes payloads (the API's codec endpoint). */
  uiCodecEndpoint?: string;
}): Promise<Stoppable & { exited: Promise<number> }> {
  const cli = await resolveTemporalCli({ log });
  if (cli) log(`Temporal CLI: ${cli.path} (${cli.source})`);
  const server = await startTemporalDevServer({
    cliPath: cli?.path,
    port: LOCAL_TEMPORAL_PORT,
    uiPort: LOCAL_TEMPORAL_UI_PORT,
    dbFile: join(root, '.data', 'temporal.db'),
    uiCodecEndpoint,
    // Its shutdown warnings (pollers losing their connection) would bury the services' own lines.
    logLevel: 'error',
    log,
  });
  log(`Temporal ready at ${server.address}, Web UI ${server.uiUrl} (state in .data/temporal.db)`);
  return server;
}

/**
 * The API's codec endpoint for the local Web UI, with an operator token in its path (the UI sends no header of its
 * own), so the UI on this machine shows payloads decoded; undefined when tokens come from an identity provider.
 */
export async function localCodecEndpoint(config: Config): Promise<string | undefined> {
  if (config.AUTH_JWKS_URL) return undefined;
  const key = await loadOrCreateSigningKey(config.AUTH_KEY_FILE);
  const token = await signToken(key, { subject: 'web-ui', role: 'operator', expiresIn: '30d' });
  return `http://localhost:${config.PORT}/codec/t/${token}`;
}
