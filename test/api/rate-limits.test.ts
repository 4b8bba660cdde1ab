// Request rates per caller and role: a customer's flood meets 429 at its limit while other callers are served; an
// operator has more; callers without a valid token are counted by address, fewest of all. Small limits, no clocks.
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import type { RateLimits } from '../../src/api/http/rate-limit';
import { loadConfig } from '../../src/config';
import { eventually } from '../../dev/support/poll';
import { EncryptionCodec } from '../../src/payload-codec';
import { configWith, orderRequest, silentLogger, startApiStack, testAuth, tokenFor, type ApiStack } from './harness';

const limits: RateLimits = { customer: 5, operator: 8, anonymous: 3 };

let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** A fresh app with every route that takes a token (the codec endpoint too), so each case starts with no count. */
const limitedApp = () =>
  createApp({
    client: stack.client,
    db: stack.database.db,
    config: configWith({
      DELIVERY_DELAY_SECONDS: 3600,
      RATE_LIMIT_CUSTOMER_PER_MINUTE: limits.customer,
      RATE_LIMIT_OPERATOR_PER_MINUTE: limits.operator,
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: limits.anonymous,
    }),
    logger: silentLogger,
    auth: testAuth,
    codec: { codec: new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]), corsOrigins: [] },
  });
const as = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function expectRefusedForRate(response: Answer, role: keyof RateLimits): void {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(JSON.parse(response.text) as unknown).toMatchObject({ type: '/problems/rate-limited', status: 429 });
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers['ratelimit']).toMatch(new RegExp(`^"${role}"; r=0; t=\\d+$`));
  expect(response.headers['ratelimit-policy']).toMatch(new RegExp(`^"${role}"; q=${limits[role]}; w=60`));
}

describe('the limits', () => {
  it('are read per role from the configuration, and the old single limit is refused by name', () => {
    const config = loadConfig({
      RATE_LIMIT_CUSTOMER_PER_MINUTE: '7',
      RATE_LIMIT_OPERATOR_PER_MINUTE: '70',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1',
    });
    expect([
      config.RATE_LIMIT_CUSTOMER_PER_MINUTE,
      config.RATE_LIMIT_OPERATOR_PER_MINUTE,
      config.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    ]).toEqual([7, 70, 1]);
    const defaults = loadConfig({});
    expect(defaults.RATE_LIMIT_ANONYMOUS_PER_MINUTE).toBeLessThan(defaults.RATE_LIMIT_CUSTOMER_PER_MINUTE);
    expect(defaults.RATE_LIMIT_CUSTOMER_PER_MINUTE).toBeLessThan(defaults.RATE_LIMIT_OPERATOR_PER_MINUTE);
    expect(() => loadConfig({ RATE_LIMIT_CUSTOMER_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_CUSTOMER_PER_MINUTE/);
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '600' })).toThrow(/RATE_LIMIT_PER_MINUTE is no longer read/);
  });
});

describe('a customer', () => {
  it("meets 429 with Retry-After and RateLimit headers past its limit, creating nothing more, while another customer's requests in the same burst are served", async () => {
    const app = limitedApp();
    const carol = `c-flood-${randomUUID()}`;
    const dave = `c-calm-${randomUUID()}`;
    const [carolToken, daveToken] = await Promise.all([
      tokenFor({ subject: carol, role: 'customer' }),
      tokenFor({ subject: dave, role: 'customer' }),
    ]);
    const create = (customerId: string, token: string) =>
      request(app).post('/orders').set(as(token)).send(orderRequest({ customerId }));
    // Carol floods with twice her limit, and Dave creates in the middle of it.
    const flood = Array.from({ length: 2 * limits.customer }, () => create(carol, carolToken));
    const calm = Array.from({ length: limits.customer }, () => create(dave, daveToken));
    const [carolAnswers, daveAnswers] = await Promise.all([Promise.all(flood), Promise.all(calm)]);

    expect(carolAnswers.map((answer) => answer.status).sort()).toEqual([
      ...Array<number>(limits.customer).fill(201),
      ...Array<number>(limits.customer).fill(429),
    ]);
    for (const refused of carolAnswers.filter((answer) => answer.status === 429))
      expectRefusedForRate(refused, 'customer');
    expect(daveAnswers.map((answer) => answer.status)).toEqual(Array<number>(limits.customer).fill(201));
    // The refused creates started nothing: only the accepted orders ever get their rows.
    await eventually('the accepted orders to be recorded', async () => {
      const [{ n }] = await stack.database.db('orders.orders').where({ customer_id: carol }).count({ n: '*' });
      return Number(n) === limits.customer ? true : undefined;
    });
    expect((await stack.client.workflow.count(`CustomerId = '${carol}'`)).count).toBe(limits.customer);
  });
});

describe('an operator', () => {
  it("has a higher limit than a customer's, counted for that operator alone", async () => {
    const app = limitedApp();
    const operator = await tokenFor({ subject: `ops-${randomUUID()}`, role: 'operator' });
    const answers = [];
    for (let i = 0; i <= limits.operator; i++) answers.push(await request(app).get('/orders').set(as(operator)));
    expect(answers.map((answer) => answer.status)).toEqual([...Array<number>(limits.operator).fill(200), 429]);
    expect(answers[0].headers['ratelimit-policy']).toMatch(/^"operator"; q=8; w=60/);
    expectRefusedForRate(answers[limits.operator], 'operator');
    const another = await tokenFor({ subject: `ops-${randomUUID()}`, role: 'operator' });
    await request(app).get('/orders').set(as(another)).expect(200);
  });
});

describe('a caller without a valid token', () => {
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    const server = limitedApp().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });

  afterAll(() => close());

  /** A request from one loopback address (Linux routes all of 127/8 to loopback). */
  const from = (localAddress: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const method = body === undefined ? 'GET' : 'POST';
      const req = httpRequest(`${url}${path}`, { method, localAddress, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('is counted by address with the lowest limit on every route that takes a token, sparing other addresses and token holders', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < limits.anonymous; i++) answers.push(await from('127.0.0.2', '/orders'));
    // The codec's body is not even JSON: counted and refused before a byte of it is parsed (else a 400).
    const notJson = 'not json';
    const json = { 'content-type': 'application/json' };
    answers.push(
      await from('127.0.0.2', '/orders', as('not.a.jwt')),
      await from('127.0.0.2', '/codec/t/not.a.jwt/decode', json, notJson),
    );
    expect(answers.map((answer) => answer.status)).toEqual([...Array<number>(limits.anonymous).fill(401), 429, 429]);
    expectRefusedForRate(answers[limits.anonymous], 'anonymous');
    expect((await from('127.0.0.3', '/orders')).status).toBe(401);
    expect((await from('127.0.0.3', '/codec/t/not.a.jwt/decode', json, notJson)).status).toBe(401);
    const customer = await tokenFor({ subject: `c-${randomUUID()}`, role: 'customer' });
    expect((await from('127.0.0.2', '/orders', as(customer))).status).toBe(200);
  });
});
