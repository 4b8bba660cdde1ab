// `npm run migrate`: applies the knex migrations to DATABASE_URL (or the embedded default).
import { loadConfig } from '../src/config';
import { createDb, migrateLatest } from '../src/db/knex';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  try {
    const applied = await migrateLatest(db);
    console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
