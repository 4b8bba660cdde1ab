// Who may see and do what, on its own: no server, no database.
import type { Caller } from '../../src/api/http/auth';
import { assertMayCreateFor, assertOperator, createRequestOf, listScope, visibleTo } from '../../src/api/http/policy';
import { acceptedOrder } from '../../src/domain';

/** A 403 problem, with the detail given. */
const forbidden = (detail?: string) =>
  expect.objectContaining({ problem: expect.objectContaining({ status: 403, ...(detail && { detail }) }) });

const alice: Caller = { role: 'customer', subject: 'c-alice' };
const operator: Caller = { role: 'operator', subject: 'ops' };
const order = (customerId: string) =>
  acceptedOrder({
    id: '00000000-0000-4000-8000-000000000000',
    customerId,
    currency: 'MYR',
    items: [{ sku: 'A', quantity: 1, unitPrice: 1 }],
    createdAt: '2026-01-01T00:00:00.000Z',
  });

describe('the access policy', () => {
  it("fills a customer's own id into a create that leaves it out, and leaves every other body as sent", () => {
    expect(createRequestOf(alice, { items: [] })).toEqual({ items: [], customerId: 'c-alice' });
    expect(createRequestOf(alice, { customerId: 'c-bob' })).toEqual({ customerId: 'c-bob' });
    expect(createRequestOf(operator, { items: [] })).toEqual({ items: [] });
    expect(createRequestOf(alice, 'not an object')).toBe('not an object');
  });

  it("lets a customer create only its own orders, an operator anyone's", () => {
    expect(() => assertMayCreateFor(alice, 'c-alice')).not.toThrow();
    expect(() => assertMayCreateFor(alice, 'c-bob')).toThrow(forbidden());
    expect(() => assertMayCreateFor(operator, 'c-bob')).not.toThrow();
  });

  it("narrows a customer's list to its own orders and refuses another's, and leaves an operator's filter as given", () => {
    expect(listScope(alice, undefined)).toBe('c-alice');
    expect(listScope(alice, 'c-alice')).toBe('c-alice');
    expect(() => listScope(alice, 'c-bob')).toThrow(forbidden());
    expect(listScope(operator, undefined)).toBeUndefined();
    expect(listScope(operator, 'c-bob')).toBe('c-bob');
  });

  it('shows a customer its own orders only, an operator every order', () => {
    expect(visibleTo(alice, order('c-alice'))?.customerId).toBe('c-alice');
    expect(visibleTo(alice, order('c-bob'))).toBeUndefined();
    expect(visibleTo(operator, order('c-bob'))?.customerId).toBe('c-bob');
    expect(visibleTo(operator, undefined)).toBeUndefined();
  });

  it('keeps the reads across all orders to operators', () => {
    expect(() => assertOperator(operator, 'sees all orders')).not.toThrow();
    expect(() => assertOperator(alice, 'sees all orders')).toThrow(forbidden('only an operator token sees all orders'));
  });
});
