// One PostgreSQL server for the whole test run; each test file makes its own database in it (see database.ts).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresUnreachableError, startEmbeddedPostgres } from '../../dev/tools/postgres';
import { freePort } from '../../dev/tools/net';

declare global {
  var __testPostgres: { stop(): Promise<void> } | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_ADMIN_URL) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'order-system-test-pg-'));
  const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false }).catch(
    (error: unknown) => {
      // One line that says what to do, not a stack trace from deep inside the PostgreSQL package.
      if (error instanceof PostgresUnreachableError) {
        console.error(`\nnpm test: ${error.message}\n`);
        process.exit(1);
      }
      throw error;
    },
  );
  globalThis.__testPostgres = postgres;
  // Read by the test workers, which jest starts after this runs.
  process.env.TEST_DATABASE_ADMIN_URL = postgres.url;
}
