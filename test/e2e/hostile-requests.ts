// Malformed, oversized and hostile requests: every one of them breaks a rule of the HTTP contract (docs/http-api.md, the OpenAPI document), so none may write anything.
import type { RawRequest } from './api-client';

export interface HostileRequest extends RawRequest {
  name: string;
  path: string;
  /** The status the contract names for it, or any 4xx where it names none. */
  expected: 400 | 404 | 413 | 415 | '4xx';
}

const valid = {
  customerId: 'c-hostile',
  items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
  currency: 'MYR',
  paymentToken: 'tok_approve',
};
const item = valid.items[0];
const sqlFragment = "'); DROP TABLE orders.orders; --";
const script = '<script>alert(document.cookie)</script>';
const emoji = '😀';
const invisible = '\u202e\u200b\u0000';

const json = (name: string, body: unknown, headers: Record<string, string> = {}): HostileRequest => ({
  name,
  path: '/orders',
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
  expected: 400,
});

const text = (
  name: string,
  body: string,
  expected: HostileRequest['expected'],
  contentType?: string,
): HostileRequest => ({
  name,
  path: '/orders',
  method: 'POST',
  // Bytes, so fetch adds no Content-Type of its own when none is given.
  headers: contentType ? { 'content-type': contentType } : {},
  body: new TextEncoder().encode(body),
  expected,
});

const withItem = (name: string, overrides: Record<string, unknown>) =>
  json(name, { ...valid, items: [{ ...item, ...overrides }] });

const wrongTypes: HostileRequest[] = [
  json('customerId is a number', { ...valid, customerId: 42 }),
  json('items is an object', { ...valid, items: { sku: 'A' } }),
  json('items is empty', { ...valid, items: [] }),
  json('101 items', { ...valid, items: Array.from({ length: 101 }, () => item) }),
  json('customerId missing', { items: valid.items }),
  withItem('quantity is a string', { quantity: '2' }),
  withItem('quantity is a fraction', { quantity: 1.5 }),
  withItem('quantity is zero', { quantity: 0 }),
  withItem('quantity is 1001', { quantity: 1001 }),
  withItem('unitPrice is negative', { unitPrice: -1 }),
  withItem('unitPrice is null', { unitPrice: null }),
  withItem('unitPrice is an object', { unitPrice: { $gt: 0 } }),
  json('an unknown field', { ...valid, isAdmin: true }),
  text(
    'a prototype-polluting field',
    `{"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`,
    400,
    'application/json',
  ),
  json('a constructor field', { ...valid, constructor: { prototype: { polluted: true } } }),
  json('the body is null', null),
  json('the body is an array', [valid]),
  json('the body is a string', 'order please'),
  json('the body is a number', 42),
];

const hugeNumbers: HostileRequest[] = [
  withItem('unitPrice 1e308', { unitPrice: 1e308 }),
  withItem('unitPrice above 2^53', { unitPrice: 2 ** 53 + 2 }),
  withItem('unitPrice above the cap', { unitPrice: 1_000_000_001 }),
  withItem('quantity 1e21', { quantity: 1e21 }),
  text(
    'unitPrice 1e999 (Infinity when parsed)',
    JSON.stringify(valid).replace('1050', '1e999'),
    400,
    'application/json',
  ),
  text(
    'quantity as a 400-digit literal',
    JSON.stringify(valid).replace('"quantity":2', `"quantity":${'9'.repeat(400)}`),
    400,
    'application/json',
  ),
];

const hostileStrings: HostileRequest[] = [
  json('SQL in an over-long customerId', { ...valid, customerId: sqlFragment.repeat(3) }),
  json('script in an over-long customerId', { ...valid, customerId: script.repeat(2) }),
  json('SQL in the currency', { ...valid, currency: sqlFragment }),
  json('script in the payment token', { ...valid, paymentToken: `tok_${script}` }),
  json('SQL in the payment token', { ...valid, paymentToken: `tok_x${sqlFragment}` }),
  withItem('SQL in an over-long sku', { sku: `${sqlFragment}${'x'.repeat(64)}` }),
  json('65 emoji as customerId', { ...valid, customerId: emoji.repeat(65) }),
  withItem('emoji and control characters in an over-long sku', { sku: (emoji + invisible).repeat(20) }),
  json('an empty customerId', { ...valid, customerId: '' }),
  json('a currency of emoji', { ...valid, currency: `M${emoji}` }),
  json('lower-case currency', { ...valid, currency: 'myr' }),
  json('a payment token too long', { ...valid, paymentToken: `tok_${'a'.repeat(61)}` }),
  json('a valid body with an over-long Idempotency-Key', valid, { 'idempotency-key': 'k'.repeat(256) }),
  json('a valid body with an empty Idempotency-Key', valid, { 'idempotency-key': '' }),
];

const badJson: HostileRequest[] = [
  text('truncated JSON', '{"customerId":"c-1","items":[', 400, 'application/json'),
  text('single quotes', "{'customerId':'c-1'}", 400, 'application/json'),
  text('a trailing comma', `${JSON.stringify(valid).slice(0, -1)},}`, 400, 'application/json'),
  text('NaN', 'NaN', 400, 'application/json'),
  text('a NUL byte', '\u0000', 400, 'application/json'),
  text('10 000 nested arrays', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, 400, 'application/json'),
  {
    ...text('invalid UTF-8', '', 400, 'application/json'),
    body: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  },
];

const badContentTypes: HostileRequest[] = [
  text('JSON sent as text/plain', JSON.stringify(valid), 415, 'text/plain'),
  text('a form', 'customerId=c-1&items=1', 415, 'application/x-www-form-urlencoded'),
  text(
    'multipart',
    '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
    415,
    'multipart/form-data; boundary=x',
  ),
  text('XML', '<order><customerId>c-1</customerId></order>', 415, 'application/xml'),
  text('no Content-Type at all', JSON.stringify(valid), 415),
  // UTF-16 decodes to garbage (400) and Latin-1 is refused outright (415): the contract pins neither.
  text('JSON declared as UTF-16', JSON.stringify(valid), '4xx', 'application/json; charset=utf-16'),
  text('JSON declared as Latin-1', JSON.stringify(valid), '4xx', 'application/json; charset=latin1'),
  {
    ...text('gzip that is not gzip', JSON.stringify(valid), '4xx', 'application/json'),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  },
];

const oversized: HostileRequest[] = [
  withItem('a 65 kB sku', { sku: 'x'.repeat(65 * 1024) }),
  json('a 1 MB body', { ...valid, padding: 'x'.repeat(1024 * 1024) }),
].map((request) => ({ ...request, expected: 413 as const }));

const otherRoutes: HostileRequest[] = [
  { name: 'SQL as an order id', path: `/orders/${encodeURIComponent("1' OR '1'='1")}`, expected: 404 },
  { name: 'path traversal as an order id', path: '/orders/..%2f..%2fetc%2fpasswd', expected: 404 },
  { name: 'a malformed percent-escape', path: '/orders/%zz', expected: 404 },
  { name: 'limit 1e9', path: '/orders?limit=1000000000', expected: 400 },
  { name: 'a script as the state filter', path: `/orders?state=${encodeURIComponent(script)}`, expected: 400 },
  { name: 'a forged cursor', path: `/orders?cursor=${encodeURIComponent(sqlFragment)}`, expected: 400 },
  {
    name: 'a cancel of an unknown order with a numeric reason',
    path: '/orders/7b0e6b8e-2c3f-4d5a-9e1f-0a1b2c3d4e5f/cancel',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 123 }),
    expected: '4xx',
  },
  {
    name: 'PUT /orders',
    path: '/orders',
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    expected: '4xx',
  },
];

export const hostileRequests: readonly HostileRequest[] = [
  ...wrongTypes,
  ...hugeNumbers,
  ...hostileStrings,
  ...badJson,
  ...badContentTypes,
  ...oversized,
  ...otherRoutes,
];
