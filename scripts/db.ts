// `npm run db`: embedded PostgreSQL under .data/postgres with the `orders` database, unless DATABASE_URL is set.
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { startLocalDatabase } from '../dev/tools/local-stack';

const say = (line: string) => process.stdout.write(`[db] ${line}\n`);

async function main(): Promise<void> {
  const config = loadConfig();
  if (process.env.DATABASE_URL) {
    say('DATABASE_URL is set, so that database is used; nothing to start');
    return;
  }
  const postgres = await startLocalDatabase({ root: join(__dirname, '..'), port: config.EMBEDDED_PG_PORT, log: say });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await postgres.stop();
    say('stopped');
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  say(`DATABASE_URL=${config.DATABASE_URL}   (Ctrl-C stops it)`);
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
