import type { Knex } from 'knex';

// Who asked for a cancel (the caller's token subject), on the transition it caused or the rejection it met.
export async function up(db: Knex): Promise<void> {
  await db.schema.withSchema('orders').alterTable('order_events', (t) => {
    t.string('requested_by', 64);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.withSchema('orders').alterTable('order_events', (t) => {
    t.dropColumn('requested_by');
  });
}
