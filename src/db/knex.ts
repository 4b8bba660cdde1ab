import knex, { type Knex } from 'knex';
import { types } from 'pg';
import { migrationSource } from './migrations';

export type Db = Knex;

// Money is bigint in SQL; every amount here stays below 2^53 (see ORDER_LIMITS), so numbers are exact.
types.setTypeParser(types.builtins.INT8, Number);

export interface DbOptions {
  url: string;
  poolMax?: number;
}

export function createDb({ url, poolMax = 10 }: DbOptions): Db {
  return knex({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: poolMax },
    // Fail fast when Postgres is down so activities retry and /readyz answers instead of hanging.
    acquireConnectionTimeout: 5_000,
  });
}

// Pinned: with a role named like one of our schemas, Postgres' search_path would hide the migrations table.
const MIGRATIONS_SCHEMA = 'public';

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource, schemaName: MIGRATIONS_SCHEMA })) as [
    number,
    string[],
  ];
  return applied;
}
