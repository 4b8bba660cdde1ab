import type { Knex } from 'knex';
import { orderStates, paymentStatuses } from '../../domain/order';

export async function up(db: Knex): Promise<void> {
  await db.raw('CREATE SCHEMA IF NOT EXISTS orders');
  await db.raw('CREATE SCHEMA IF NOT EXISTS payments');

  await db.schema.withSchema('orders').createTable('orders', (t) => {
    t.uuid('id').primary();
    t.string('customer_id', 64).notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.jsonb('items').notNullable();
    t.bigInteger('amount').notNullable();
    t.enu('state', [...orderStates]).notNullable();
    t.text('cancel_reason');
    t.enu('payment_status', [...paymentStatuses]).notNullable();
    t.text('payment_id');
    t.string('idempotency_key', 255).unique();
    t.text('request_fingerprint');
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable();
  });
  // Listing is newest first with a (created_at, id) keyset cursor, optionally filtered by state or customer.
  await db.raw('CREATE INDEX orders_created_idx ON orders.orders (created_at DESC, id DESC)');
  await db.raw('CREATE INDEX orders_state_created_idx ON orders.orders (state, created_at DESC, id DESC)');
  await db.raw('CREATE INDEX orders_customer_created_idx ON orders.orders (customer_id, created_at DESC, id DESC)');

  await db.schema.withSchema('orders').createTable('order_events', (t) => {
    t.bigIncrements('id');
    t.uuid('order_id').notNullable().references('id').inTable('orders.orders');
    t.enu('event', ['transition', 'cancel_rejected']).notNullable();
    t.enu('from_state', [...orderStates]);
    t.enu('to_state', [...orderStates]).notNullable();
    t.text('reason');
    // Names the event within its order, so a retried activity cannot append it twice.
    t.text('dedupe_key').notNullable();
    t.timestamp('at', { useTz: true, precision: 3 }).notNullable();
    t.unique(['order_id', 'dedupe_key']);
  });

  await db.schema.withSchema('payments').createTable('payments', (t) => {
    t.uuid('order_id').primary();
    t.text('payment_id').notNullable().unique();
    t.enu('status', [...paymentStatuses]).notNullable();
    t.bigInteger('amount').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.string('customer_id', 64).notNullable();
    t.text('gateway_reference');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(db.fn.now());
    t.timestamp('refunded_at', { useTz: true, precision: 3 });
  });
  await db.raw('CREATE INDEX payments_status_idx ON payments.payments (status)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP SCHEMA IF EXISTS payments CASCADE');
  await db.raw('DROP SCHEMA IF EXISTS orders CASCADE');
}
