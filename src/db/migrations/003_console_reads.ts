import type { Knex } from 'knex';

// The console's reads stay indexed: the last change (its live updates) and deliveries per minute (its chart).
export async function up(db: Knex): Promise<void> {
  await db.raw('CREATE INDEX orders_updated_idx ON orders.orders (updated_at DESC)');
  await db.raw('CREATE INDEX order_events_state_at_idx ON orders.order_events (to_state, at)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS orders.order_events_state_at_idx');
  await db.raw('DROP INDEX IF EXISTS orders.orders_updated_idx');
}
