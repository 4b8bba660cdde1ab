// The API's request schemas, built from the order rules the workflow checks too (src/domain/order-rules.ts):
// the same limits and messages, so that both refuse the same requests (a test holds them together).
import { z } from 'zod';
import {
  currencyPattern,
  ORDER_LIMITS,
  storableTextPattern,
  orderDefaults,
  orderRuleMessages,
  paymentTokenPattern,
  type CheckedOrder,
} from '../../domain/order-rules';

export const orderIdSchema = z.uuid();

const messages = orderRuleMessages;

export const orderItemSchema = z.strictObject({
  sku: z
    .string()
    .min(1, messages.sku)
    .max(ORDER_LIMITS.skuLength, messages.sku)
    .regex(storableTextPattern, messages.sku),
  quantity: z.number().int(messages.quantity).min(1, messages.quantity).max(ORDER_LIMITS.quantity, messages.quantity),
  unitPrice: z
    .number()
    .int(messages.unitPrice)
    .min(0, messages.unitPrice)
    .max(ORDER_LIMITS.unitPrice, messages.unitPrice),
});

/** A customer id, in a body or a query. */
export const customerIdSchema = z
  .string()
  .min(1, messages.customerId)
  .max(ORDER_LIMITS.customerIdLength, messages.customerId)
  .regex(storableTextPattern, messages.customerId);

export const createOrderSchema = z.strictObject({
  customerId: customerIdSchema,
  items: z.array(orderItemSchema).min(1, messages.items).max(ORDER_LIMITS.items, messages.items),
  currency: z.string().regex(currencyPattern, messages.currency).default(orderDefaults.currency),
  paymentToken: z.string().regex(paymentTokenPattern, messages.paymentToken).default(orderDefaults.paymentToken),
}) satisfies z.ZodType<CheckedOrder>;

export type CreateOrderRequest = z.output<typeof createOrderSchema>;

export const cancelOrderSchema = z.strictObject({
  reason: z
    .string()
    .min(1)
    .max(ORDER_LIMITS.cancelReasonLength)
    .regex(storableTextPattern, 'must hold no NUL')
    .optional(),
});

export type CancelOrderRequest = z.output<typeof cancelOrderSchema>;
