// The embedded default of SPEC §2: PostgreSQL and a Temporal dev server kept under .data/, for `npm start`,
// `npm run db` and `npm run temporal`.
import { join } from 'node:path';
import type { Log } from './exec';
import { createDatabase, startEmbeddedPostgres } from './postgres';
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
  const postgres = await startEmbeddedPostgres({
    dataDir: join(root, '.data', 'postgres'),
    port,
    persistent: true,
    log,
  });
  if (await createDatabase(postgres.url, 'orders')) log('created database orders');
  log(`PostgreSQL ready on 127.0.0.1:${port} (data in .data/postgres)`);
  return postgres;
}

export async function startLocalTemporal({
  root,
  log,
}: {
  root: string;
  log: Log;
}): Promise<Stoppable & { exited: Promise<number> }> {
  const cli = await resolveTemporalCli({ log });
  if (cli) log(`Temporal CLI: ${cli.path} (${cli.source})`);
  const server = await startTemporalDevServer({
    cliPath: cli?.path,
    port: LOCAL_TEMPORAL_PORT,
    uiPort: LOCAL_TEMPORAL_UI_PORT,
    dbFile: join(root, '.data', 'temporal.db'),
    // Its shutdown warnings (pollers losing their connection) would bury the services' own lines.
    logLevel: 'error',
    log,
  });
  log(`Temporal ready at ${server.address}, Web UI ${server.uiUrl} (state in .data/temporal.db)`);
  return server;
}
