// The rules an order must satisfy, shared by the API (request validation) and the workflow (input validation).
import { z } from 'zod';

import { currencyPattern, ORDER_LIMITS, orderDefaults, paymentTokenPattern } from './order-rules';

export const orderIdSchema = z.uuid();

export const orderItemSchema = z.strictObject({
  sku: z.string().min(1).max(ORDER_LIMITS.skuLength),
  quantity: z.number().int().min(1).max(ORDER_LIMITS.quantity),
  unitPrice: z.number().int().min(0).max(ORDER_LIMITS.unitPrice),
});

export const createOrderSchema = z.strictObject({
  customerId: z.string().min(1).max(ORDER_LIMITS.customerIdLength),
  items: z.array(orderItemSchema).min(1).max(ORDER_LIMITS.items),
  currency: z.string().regex(currencyPattern, 'must be three capital letters').default(orderDefaults.currency),
  paymentToken: z
    .string()
    .regex(paymentTokenPattern, 'must match ^tok_[A-Za-z0-9_]{1,60}$')
    .default(orderDefaults.paymentToken),
});

export type CreateOrderRequest = z.output<typeof createOrderSchema>;

export const cancelOrderSchema = z.strictObject({
  reason: z.string().min(1).max(200).optional(),
});

export type CancelOrderRequest = z.output<typeof cancelOrderSchema>;
