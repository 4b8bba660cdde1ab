import knex, { type Knex } from 'knex';
import { types } from 'pg';
import type { Logger } from '../logging';
import { migrationSource } from './migrations';

export type Db = Knex;

// Money is bigint in SQL; every amount here stays below 2^53 (see ORDER_LIMITS), so numbers are exact.
types.setTypeParser(types.builtins.INT8, Number);

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Where knex's own messages go (the console without one). */
  logger?: Logger;
}

/**
 * knex says every failed connection attempt (stack and all) and every pooled connection lost as a warning: at debug
 * here, since the process's waits and watches (src/dependencies.ts) say an outage once and a query's caller gets the
 * error. The rest of knex's messages as they are.
 */
function knexLog(logger: Logger | undefined): Knex.Logger {
  const warn = (message: string) => {
    if (/^(Acquire connection error|Connection Error)/.test(message)) logger?.debug(message);
    else if (logger) logger.warn(message);
    else console.warn(message);
  };
  return {
    warn,
    deprecate: (method, alternative) => warn(`${method} is deprecated; use ${alternative}`),
    error: (message) => (logger ? logger.error(message) : console.error(message)),
    debug: (message) => logger?.debug(message),
  };
}

export function createDb({ url, poolMax = 10, logger }: DbOptions): Db {
  return knex({
    client: 'pg',
    log: knexLog(logger),
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
