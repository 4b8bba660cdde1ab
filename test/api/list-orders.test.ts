import type { Express } from 'express';
import request from 'supertest';
import { encodeCursor } from '../../src/api/reads/cursor';
import { orderListSchema } from '../../src/api/schemas/responses';
import type { OrderView } from '../../src/domain';
import { eventually } from '../../dev/support/poll';
import { configWith, asOrder, orderRequest, startApiStack, type ApiStack } from './harness';

let stack: ApiStack;
let app: Express;

beforeAll(async () => {
  stack = await startApiStack();
  app = stack.app(configWith({ DELIVERY_DELAY_SECONDS: 3600 }));
});

afterAll(async () => {
  await stack?.stop();
});

async function createOrders(count: number, overrides: Record<string, unknown> = {}): Promise<OrderView[]> {
  const responses = await Promise.all(
    Array.from({ length: count }, () => request(app).post('/orders').send(orderRequest(overrides)).expect(201)),
  );
  const orders = responses.map(asOrder);
  // Listing follows the rows, which each order's workflow writes in its first step, just after the 201.
  await eventually('the orders to be recorded', async () => {
    const [{ n }] = await stack.database
      .db('orders.orders')
      .whereIn(
        'id',
        orders.map((order) => order.id),
      )
      .count({ n: '*' });
    return Number(n) === orders.length ? true : undefined;
  });
  return orders;
}

async function listPage(query: Record<string, string | number>) {
  return orderListSchema.parse((await request(app).get('/orders').query(query).expect(200)).body);
}

/** Follows nextCursor to the end, calling `betweenPages` after each page. */
async function listAll(query: Record<string, string | number>, betweenPages: () => Promise<unknown> = async () => {}) {
  const seen: OrderView[] = [];
  let cursor: string | null = null;
  do {
    const page = await listPage(cursor ? { ...query, cursor } : query);
    seen.push(...page.items);
    cursor = page.nextCursor;
    await betweenPages();
  } while (cursor);
  return seen;
}

const newestFirst = (a: OrderView, b: OrderView) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

describe('GET /orders', () => {
  it('lists newest first, 20 by default, with a cursor to the next page', async () => {
    await createOrders(22, { customerId: 'c-default-page' });
    const page = await listPage({ customerId: 'c-default-page' });
    expect(page.items).toHaveLength(20);
    expect(page.items).toEqual([...page.items].sort(newestFirst));
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = await listPage({ customerId: 'c-default-page', cursor: page.nextCursor! });
    expect(rest.items).toHaveLength(2);
    expect(rest.nextCursor).toBeNull();
  });

  it('neither skips nor repeats an order while new orders are created between pages', async () => {
    const customerId = 'c-paging';
    const existing = await createOrders(25, { customerId });
    const arrivals: OrderView[] = [];
    const seen = await listAll({ customerId, limit: 7 }, async () => {
      arrivals.push(...(await createOrders(3, { customerId })));
    });
    const ids = seen.map((order) => order.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(existing.map((order) => order.id)));
    expect(seen).toEqual([...seen].sort(newestFirst));
    expect(arrivals.length).toBeGreaterThan(0);
  });

  it('filters by state and by customer', async () => {
    const [declined] = await createOrders(1, { customerId: 'c-filter', paymentToken: 'tok_decline' });
    const [approved] = await createOrders(1, { customerId: 'c-filter' });
    await stack.waitForState(app, declined.id, 'cancelled');
    await stack.waitForState(app, approved.id, 'confirmed');
    const cancelled = await listAll({ customerId: 'c-filter', state: 'cancelled' });
    expect(cancelled.map((order) => order.id)).toEqual([declined.id]);
    const all = await listAll({ customerId: 'c-filter' });
    expect(all.map((order) => order.id).sort()).toEqual([declined.id, approved.id].sort());
    expect(all.every((order) => order.customerId === 'c-filter')).toBe(true);
  });

  it('answers the full order, history included, for each item', async () => {
    const [order] = await createOrders(1, { customerId: 'c-history' });
    await stack.waitForState(app, order.id, 'confirmed');
    const [listed] = (await listPage({ customerId: 'c-history' })).items;
    expect(listed.history.map((entry) => entry.state)).toEqual(['created', 'confirmed']);
  });

  it.each(['state', 'customerId', 'limit', 'cursor'])(
    'answers 400 for an empty %s, not an unset filter',
    async (name) => {
      const response = await request(app)
        .get('/orders')
        .query({ [name]: '' })
        .expect(400);
      expect(response.body.errors).toEqual([{ path: name, message: expect.any(String) }]);
    },
  );

  it('answers an empty list for a customer without orders', async () => {
    expect(await listPage({ customerId: 'nobody' })).toEqual({ items: [], nextCursor: null });
  });

  it.each([
    ['limit=0', { limit: '0' }, 'limit'],
    ['limit=101', { limit: '101' }, 'limit'],
    ['limit=abc', { limit: 'abc' }, 'limit'],
    ['limit=2.5', { limit: '2.5' }, 'limit'],
    ['state=shipped', { state: 'shipped' }, 'state'],
    ['a customerId over 64 characters', { customerId: 'c'.repeat(65) }, 'customerId'],
    // Found by Schemathesis: PostgreSQL refused the NUL and the list answered 500.
    ['a customerId with a NUL', { customerId: 'c\u0000' }, 'customerId'],
    ['a cursor without a time', { cursor: 'not-a-cursor' }, 'cursor'],
    ['a cursor whose id is not a UUID', { cursor: '946684800000-not-a-uuid' }, 'cursor'],
    ['a cursor past the year 5138', { cursor: '100000000000000-00000000-0000-4000-8000-000000000000' }, 'cursor'],
    ['an unknown parameter', { status: 'created' }, 'status'],
  ])('answers 400 for %s', async (_, query, path) => {
    const response = await request(app).get('/orders').query(query).expect(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.body.errors).toEqual([{ path, message: expect.any(String) }]);
  });

  it('answers 400 for a repeated parameter', async () => {
    await request(app).get('/orders?limit=1&limit=2').expect(400);
  });

  it('accepts a cursor it issued, even one past every order', async () => {
    const cursor = encodeCursor({ createdAt: '2000-01-01T00:00:00.000Z', id: '00000000-0000-4000-8000-000000000000' });
    expect(cursor).toBe('946684800000-00000000-0000-4000-8000-000000000000');
    expect(await listPage({ cursor })).toEqual({ items: [], nextCursor: null });
  });

  it('accepts every cursor its pattern admits, as a fuzzer following the document would send: 0 ms, any hex id', async () => {
    for (const cursor of [
      '0-00000000-0000-0000-0000-000000000000',
      '99999999999999-FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF',
    ]) {
      expect((await request(app).get('/orders').query({ cursor }).expect(200)).body).toHaveProperty('items');
    }
  });
});
