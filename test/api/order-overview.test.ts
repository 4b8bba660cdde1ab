import { get, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { createOrderChanges, type OrderChanges } from '../../src/api/reads/order-changes';
import { orderSummarySchema } from '../../src/api/schemas/responses';
import { eventually } from '../../dev/support/poll';
import { createDb } from '../../src/db/knex';
import {
  configWith,
  asOrder,
  capturingLogger,
  createTestApp,
  orderRequest,
  silentLogger,
  startApiStack,
  type ApiStack,
} from './harness';

let stack: ApiStack;
let changes: OrderChanges;
let app: Express;
let server: Server;

beforeAll(async () => {
  stack = await startApiStack();
  changes = createOrderChanges({ db: stack.database.db, logger: silentLogger, intervalMs: 100 });
  app = createTestApp({
    client: stack.client,
    db: stack.database.db,
    logger: silentLogger,
    config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
    changes,
  });
  server = app.listen(0);
});

afterAll(async () => {
  changes?.close();
  await new Promise((resolve) => server?.close(resolve));
  await stack?.stop();
});

/** The stream's events as they come, until `close()`. */
function openStream(): Promise<{ events: string[]; close(): void }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const events: string[] = [];
    get(`http://127.0.0.1:${port}/orders/changes`, (response: IncomingMessage) => {
      expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => events.push(...[...chunk.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])));
      resolve({ events, close: () => response.destroy() });
    }).on('error', reject);
  });
}

it('counts orders by state, and each minute’s creates and deliveries', async () => {
  const delivered = await Promise.all([1, 2].map(() => request(app).post('/orders').send(orderRequest())));
  const declined = asOrder(
    await request(app)
      .post('/orders')
      .send(orderRequest({ paymentToken: 'tok_decline' })),
  );
  await Promise.all(delivered.map((r) => stack.waitForState(app, asOrder(r).id, 'delivered')));
  await stack.waitForState(app, declined.id, 'cancelled');

  const summary = orderSummarySchema.parse((await request(app).get('/orders/summary').expect(200)).body);
  expect(summary.counts).toEqual({ created: 0, confirmed: 0, delivered: 2, cancelled: 1 });
  expect(summary.throughput).toHaveLength(15);
  const minutes = summary.throughput.map((m) => Date.parse(m.minute));
  expect(minutes.every((minute, i) => i === 0 || minute - minutes[i - 1] === 60_000)).toBe(true);
  expect(summary.throughput.reduce((sum, m) => sum + m.created, 0)).toBe(3);
  expect(summary.throughput.reduce((sum, m) => sum + m.delivered, 0)).toBe(2);
});

it('tells an open stream that orders changed, and stops probing once no one listens', async () => {
  const stream = await openStream();
  try {
    await eventually('the ready event', () => (stream.events.includes('ready') ? true : undefined));
    expect(changes.subscribers()).toBe(1);
    await request(app).post('/orders').send(orderRequest()).expect(201);
    await eventually('a change event', () => (stream.events.includes('change') ? true : undefined));
  } finally {
    stream.close();
  }
  await eventually('the subscriber to leave', () => (changes.subscribers() === 0 ? true : undefined));
});

it('ends every stream when the API shuts down, and at once one that comes after', () => {
  const feed = createOrderChanges({ db: stack.database.db, logger: silentLogger });
  const early = { changed: jest.fn(), closed: jest.fn() };
  feed.subscribe(early);
  feed.close();
  expect(early.closed).toHaveBeenCalledTimes(1);
  const late = { changed: jest.fn(), closed: jest.fn() };
  feed.subscribe(late);
  expect(late.closed).toHaveBeenCalledTimes(1);
  expect(feed.subscribers()).toBe(0);
});

it('logs a PostgreSQL outage once when the probe starts failing and once when it works again, not every probe', async () => {
  // The probe's database reached through a relay the test can turn into one that hangs up on every connection.
  const real = new URL(stack.database.url);
  const sockets = new Set<Socket>();
  let down = false;
  let hangUps = 0;
  const relay = createServer((socket) => {
    if (down) {
      hangUps += 1;
      socket.destroy();
      return;
    }
    const upstream = connect(Number(real.port), real.hostname);
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on('error', () => (socket.destroy(), upstream.destroy()));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(stack.database.url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((relay.address() as AddressInfo).port);
  // One logger for the probe and its knex, as in the API: knex's per-attempt connection errors are not at info.
  const lines: string[] = [];
  const messages = () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  const logger = capturingLogger(lines);
  const db = createDb({ url: relayed.toString(), poolMax: 1, logger });
  const feed = createOrderChanges({ db, logger, intervalMs: 20 });
  feed.subscribe({ changed: jest.fn(), closed: jest.fn() });
  const failed = 'order changes: probe failed; retrying quietly until it works';
  try {
    await eventually('a first probe through the relay', () => (sockets.size > 0 ? true : undefined));
    down = true;
    for (const socket of sockets) socket.destroy();
    // Each failed probe is one connection the relay hung up on: ten of them, and still the one line.
    await eventually('ten failed probes', () => (hangUps >= 10 ? true : undefined));
    expect(messages()).toEqual([failed]);

    down = false;
    await eventually('the probe to work again', () => (lines.length > 1 ? true : undefined));
    expect(messages()).toEqual([failed, 'order changes: probe works again']);
  } finally {
    feed.close();
    relay.close();
    for (const socket of sockets) socket.destroy();
    await db.destroy();
  }
});
