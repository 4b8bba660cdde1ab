// What the API answers, as zod schemas: the OpenAPI document is generated from them and tests check bodies with them.
import { z } from 'zod';
import { orderStates, paymentStatuses, type OrderView } from '../../domain';
import type { OrderSummary } from '../reads/order-summary';
import { orderIdSchema, orderItemSchema } from './order-input';

const timestamp = z.iso.datetime();
const orderState = z.enum(orderStates);

const historyEntrySchema = z.strictObject({
  event: z.enum(['transition', 'cancel_rejected']),
  state: orderState,
  at: timestamp,
  reason: z.string().nullable(),
  by: z.string().nullable(),
});

export const orderSchema = z.strictObject({
  id: orderIdSchema,
  customerId: z.string(),
  currency: z.string(),
  items: z.array(orderItemSchema),
  amount: z.number().int().min(0),
  state: orderState,
  cancelReason: z.string().nullable(),
  payment: z.strictObject({ status: z.enum(paymentStatuses), id: z.string().nullable() }),
  createdAt: timestamp,
  updatedAt: timestamp,
  history: z.array(historyEntrySchema),
}) satisfies z.ZodType<OrderView>;

/** A cancel's answer: the order as it is now, and what became of the request (docs/http-api.md). */
export const cancellationSchema = z.strictObject({ status: z.enum(['accepted', 'rejected', 'pending']) });

export const cancelAnswerSchema = orderSchema.extend({ cancellation: cancellationSchema });

export const orderListSchema = z.strictObject({
  items: z.array(orderSchema),
  nextCursor: z
    .string()
    .nullable()
    .describe('The `cursor` of the next page, to pass back unchanged; null on the last page'),
});

const count = z.number().int().min(0);

/** GET /orders/summary: orders by state now, and per minute of the last 15 (oldest first, the current one last). */
export const orderSummarySchema = z.strictObject({
  counts: z.record(orderState, count),
  throughput: z.array(z.strictObject({ minute: timestamp, created: count, delivered: count })),
}) satisfies z.ZodType<OrderSummary>;

export const orderStatusSchema = z.strictObject({ id: orderIdSchema, state: orderState });

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
});

const dependencyState = z.enum(['up', 'down']);

export const healthSchema = z.strictObject({ status: z.literal('ok') });

export const readinessSchema = z.strictObject({
  status: z.literal('ready'),
  checks: z.strictObject({ postgres: dependencyState, temporal: dependencyState }),
});

export const readinessProblemSchema = problemSchema.extend({ checks: readinessSchema.shape.checks });

/** A refused cancel: the problem, with the order and the cancellation as extension members. */
export const cancelRefusedSchema = problemSchema.extend({ order: orderSchema, cancellation: cancellationSchema });
