// Migrations are plain modules listed here, so the same code runs under tsx, jest and a bundled build.
import type { Knex } from 'knex';
import * as initial from './migrations/001_initial';
import * as cancelRequestedBy from './migrations/002_cancel_requested_by';
import * as consoleReads from './migrations/003_console_reads';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_cancel_requested_by': cancelRequestedBy,
  '003_console_reads': consoleReads,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
