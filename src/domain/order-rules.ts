// The order rules without a validation library, for the workflow sandbox: zod there is evaluated once per
// workflow, and worker memory per cached order would grow with it (measured in bench/README.md). The API validates with the zod
// schema in src/api/schemas/order-input.ts, built from these limits and messages; a test keeps the two in agreement.
import type { OrderItem } from './order';

export const ORDER_LIMITS = {
  // Also the bound of a caller's subject (a token's `sub`), which for a customer is its customer id.
  customerIdLength: 64,
  items: 100,
  skuLength: 64,
  quantity: 1000,
  // Caps keep every amount an exact integer (quantity × unitPrice × items stays far below 2^53).
  unitPrice: 1_000_000_000,
  cancelReasonLength: 200,
  cancelRequestIdLength: 100,
} as const;

export const paymentTokenPattern = /^tok_[A-Za-z0-9_]{1,60}$/;
export const currencyPattern = /^[A-Z]{3}$/;
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const orderDefaults = { currency: 'MYR', paymentToken: 'tok_default' } as const;

// PostgreSQL's text holds no NUL (U+0000): a stored field with one would fail its write on every retry, so every
// text the order system stores refuses it at the edge.
// eslint-disable-next-line no-control-regex -- NUL is what it looks for
export const storableTextPattern = /^[^\u0000]*$/;

/** A stored text of 1 to `max` characters. */
export const isStorableText = (value: unknown, max: number, min = 1): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max && storableTextPattern.test(value);

/** What each rule says when it is broken, from the limits above: the API's schema says the same. */
export const orderRuleMessages = {
  customerId: `must be 1–${ORDER_LIMITS.customerIdLength} characters, none of them NUL`,
  items: `must be 1–${ORDER_LIMITS.items} items`,
  sku: `must be 1–${ORDER_LIMITS.skuLength} characters, none of them NUL`,
  quantity: `must be an integer 1–${ORDER_LIMITS.quantity}`,
  unitPrice: `must be an integer 0–${ORDER_LIMITS.unitPrice}`,
  currency: 'must be three capital letters',
  paymentToken: `must match ${paymentTokenPattern.source}`,
} as const;

/** An order's request as the rules accept it, defaults applied. */
export interface CheckedOrder {
  customerId: string;
  items: OrderItem[];
  currency: string;
  paymentToken: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isIntegerIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** The order's fields checked against the rules, defaults applied; `problems` names each broken rule by path. */
export function checkOrder(order: Record<string, unknown>): { order?: CheckedOrder; problems: string[] } {
  const problems: string[] = [];
  const { customerId, items, currency = orderDefaults.currency, paymentToken = orderDefaults.paymentToken } = order;
  if (!isStorableText(customerId, ORDER_LIMITS.customerIdLength))
    problems.push(`customerId: ${orderRuleMessages.customerId}`);
  if (!Array.isArray(items) || items.length < 1 || items.length > ORDER_LIMITS.items) {
    problems.push(`items: ${orderRuleMessages.items}`);
  } else {
    items.forEach((item: unknown, index) => {
      if (!isRecord(item)) return problems.push(`items.${index}: must be an object`);
      if (!isStorableText(item.sku, ORDER_LIMITS.skuLength))
        problems.push(`items.${index}.sku: ${orderRuleMessages.sku}`);
      if (!isIntegerIn(item.quantity, 1, ORDER_LIMITS.quantity))
        problems.push(`items.${index}.quantity: ${orderRuleMessages.quantity}`);
      if (!isIntegerIn(item.unitPrice, 0, ORDER_LIMITS.unitPrice))
        problems.push(`items.${index}.unitPrice: ${orderRuleMessages.unitPrice}`);
    });
  }
  if (typeof currency !== 'string' || !currencyPattern.test(currency))
    problems.push(`currency: ${orderRuleMessages.currency}`);
  if (typeof paymentToken !== 'string' || !paymentTokenPattern.test(paymentToken)) {
    problems.push(`paymentToken: ${orderRuleMessages.paymentToken}`);
  }
  if (problems.length > 0) return { problems };
  const checkedItems = (items as OrderItem[]).map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice }));
  return {
    order: {
      customerId: customerId as string,
      items: checkedItems,
      currency: currency as string,
      paymentToken: paymentToken as string,
    },
    problems,
  };
}
