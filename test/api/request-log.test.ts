// No credential reaches the API's log: requests of every kind, carrying tokens in headers, in the codec's path and in
// the console's query, are logged into a captured stream, which is then searched for every token and every header
// value sent; and each request's line holds the fixed set of fields, naming the route by its template.
import { randomBytes, randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import { EncryptionCodec } from '../../src/payload-codec';
import {
  capturingLogger,
  configWith,
  asOrder,
  orderRequest,
  refusedAuthorizations,
  startApiStack,
  testAuth,
  tokenFor,
  type ApiStack,
} from './harness';

type Caller = { subject: string | null; role: 'customer' | 'operator' | 'anonymous' };

/** What a request's log line must say about it. */
interface Expected {
  method: string;
  route: string;
  status: number;
  caller: Caller;
}

const anonymous: Caller = { subject: null, role: 'anonymous' };

const REQUEST_LINE_FIELDS = [
  'durationMs',
  'hostname',
  'level',
  'method',
  'msg',
  'name',
  'pid',
  'reqId',
  'role',
  'route',
  'status',
  'subject',
  'time',
];

let stack: ApiStack;
const logLines: string[] = [];
const expected: Expected[] = [];
/** Every credential the requests carried, and every header value they sent. */
const sent = new Set<string>();

/**
 * A token, and a JWT's signature on its own (a line cut short must not hold that either); a few characters long, a
 * value could turn up in a random request id by chance, and is searched as part of its header.
 */
function remember(token: string): string {
  for (const part of [token, token.split('.').at(-1)!]) if (part.length >= 8) sent.add(part);
  return token;
}

/** A payment token of the mock gateway's form, unique to this run: a card's stand-in, never to be logged. */
const paymentToken = () => `tok_log_${randomBytes(8).toString('hex')}`;

async function send(
  app: Express,
  [method, path]: ['GET' | 'POST', string],
  {
    route,
    caller,
    headers = {},
    body,
  }: Omit<Expected, 'method' | 'status'> & {
    headers?: Record<string, string>;
    body?: object;
  },
): Promise<request.Response> {
  for (const value of Object.values(headers)) sent.add(value);
  const call = (method === 'GET' ? request(app).get(path) : request(app).post(path)).set(headers);
  const response = await (body ? call.send(body) : call);
  expected.push({ method, route, status: response.status, caller });
  return response;
}

/** Headers a browser or client could send with credentials in them, each value unique to this request. */
function credentialHeaders(token?: string): Record<string, string> {
  return {
    ...(token ? { Authorization: `Bearer ${remember(token)}` } : {}),
    Cookie: `session=${randomUUID()}`,
    'Proxy-Authorization': `Basic ${randomBytes(12).toString('base64')}`,
  };
}

const consoleAssets = {
  'index.html': Buffer.from('<!doctype html><title>console</title>'),
  'console.js': Buffer.from(''),
  'console.css': Buffer.from(''),
};

beforeAll(async () => {
  stack = await startApiStack();
  const app = createApp({
    client: stack.client,
    db: stack.database.db,
    config: configWith({ DELIVERY_DELAY_SECONDS: 3600 }),
    logger: capturingLogger(logLines),
    auth: testAuth,
    codec: { codec: new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]), corsOrigins: ['http://localhost:8233'] },
    operatorConsole: {
      assets: consoleAssets,
      settings: { temporalUiUrl: 'http://localhost:8233', namespace: 'default' },
    },
  });
  const alice = await tokenFor({ subject: 'c-log-alice', role: 'customer' });
  const operator = await tokenFor({ subject: 'ops-log', role: 'operator' });
  const asAlice = { subject: 'c-log-alice', role: 'customer' } as const;
  const asOperator = { subject: 'ops-log', role: 'operator' } as const;

  const created = await send(app, ['POST', '/orders'], {
    route: '/orders',
    caller: asAlice,
    headers: { ...credentialHeaders(alice), 'Idempotency-Key': randomUUID() },
    body: orderRequest({ customerId: 'c-log-alice', paymentToken: remember(paymentToken()) }),
  });
  const { id } = asOrder(created);
  for (const [path, route] of [
    ['/orders', '/orders'],
    [`/orders/${id}`, '/orders/:id'],
    [`/orders/${id}/status`, '/orders/:id/status'],
    [`/orders?access_token=${remember(alice)}`, '/orders'],
  ]) {
    await send(app, ['GET', path], { route, caller: asAlice, headers: credentialHeaders(alice) });
  }
  expect(
    (
      await send(app, ['POST', `/orders/${id}/cancel`], {
        route: '/orders/:id/cancel',
        caller: asAlice,
        headers: credentialHeaders(alice),
      })
    ).status,
  ).toBeLessThan(300);
  await send(app, ['GET', '/orders/summary'], {
    route: '/orders/summary',
    caller: asOperator,
    headers: credentialHeaders(operator),
  });

  // The codec endpoint takes payloads in Temporal's JSON form; a payment token sits inside, base64-encoded.
  const plain = defaultPayloadConverter.toPayload({ paymentToken: remember(paymentToken()) });
  const base64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
  const body = { payloads: [{ metadata: { encoding: base64(plain.metadata?.encoding) }, data: base64(plain.data) }] };
  const codecCalls: [string, string, Caller, number][] = [
    ['/codec/encode', '/codec/encode', asOperator, 200],
    [`/codec/t/${remember(operator)}/decode`, '/codec/t/:token/decode', asOperator, 200],
    [`/codec/t/${remember(alice)}/decode`, '/codec/t/:token/decode', asAlice, 403],
    [`/codec/t/${remember('not.a.jwt')}/decode`, '/codec/t/:token/decode', anonymous, 401],
  ];
  for (const [path, route, caller, status] of codecCalls) {
    const headers = path === '/codec/encode' ? credentialHeaders(operator) : credentialHeaders();
    const answer = await send(app, ['POST', path], { route, caller, headers, body });
    expect({ path, status: answer.status }).toEqual({ path, status });
  }
  const consoleToken = remember(await tokenFor({ subject: 'ops-console', role: 'operator' }));
  await send(app, ['GET', `/console?token=${consoleToken}`], { route: '/console', caller: anonymous });

  for (const [, authorization] of await refusedAuthorizations()) {
    if (authorization) remember(authorization.replace(/^\S+ /, ''));
    const headers = { ...credentialHeaders(), ...(authorization ? { Authorization: authorization } : {}) };
    const refused = await send(app, ['POST', '/orders'], { route: 'unmatched', caller: anonymous, headers, body: {} });
    expect(refused.status).toBe(401);
  }
  await send(app, ['GET', `/nowhere/${remember(operator)}`], {
    route: 'unmatched',
    caller: anonymous,
    headers: credentialHeaders(),
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe("the API's request log", () => {
  it('holds no token and no header value that a request sent, in any form the request carried it', () => {
    const log = logLines.join('');
    expect(sent.size).toBeGreaterThan(40);
    expect([...sent].filter((secret) => log.includes(secret))).toEqual([]);
  });

  it('has one line per request with method, route template, status, duration, request id and caller, and nothing else', () => {
    const lines = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request completed');
    expect(
      lines.map(({ method, route, status, subject, role }) => ({ method, route, status, caller: { subject, role } })),
    ).toEqual(expected);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(REQUEST_LINE_FIELDS);
      expect(line.durationMs).toEqual(expect.any(Number));
      expect(line.reqId).toMatch(/^[\w.:@-]{1,128}$/);
    }
  });
});
