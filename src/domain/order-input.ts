// The rules an order must satisfy, shared by the API (request validation) and the workflow (input validation).
import { z } from 'zod';

export const orderIdSchema = z.uuid();

export const paymentTokenPattern = /^tok_[A-Za-z0-9_]{1,60}$/;

// Caps keep every amount an exact integer (quantity × unitPrice × items stays far below 2^53).
export const MAX_UNIT_PRICE = 1_000_000_000;

export const orderItemSchema = z.strictObject({
  sku: z.string().min(1).max(64),
  quantity: z.number().int().min(1).max(1000),
  unitPrice: z.number().int().min(0).max(MAX_UNIT_PRICE),
});

export const createOrderSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  items: z.array(orderItemSchema).min(1).max(100),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be three capital letters')
    .default('MYR'),
  paymentToken: z.string().regex(paymentTokenPattern, 'must match ^tok_[A-Za-z0-9_]{1,60}$').default('tok_default'),
});

export type CreateOrderRequest = z.output<typeof createOrderSchema>;

export const cancelOrderSchema = z.strictObject({
  reason: z.string().min(1).max(200).optional(),
});

export type CancelOrderRequest = z.output<typeof cancelOrderSchema>;
