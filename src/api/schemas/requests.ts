// What the API accepts besides an order and a cancel (order-input.ts): the list's query. The workflow checks its
// input with the library-free rules in src/domain/order-rules.ts, never with these zod schemas.
import { z } from 'zod';
import { orderStates } from '../../domain';
import { cursorSchema } from '../reads/cursor';
import { customerIdSchema } from './order-input';

export const listOrdersQuerySchema = z.strictObject({
  state: z.enum(orderStates).optional(),
  customerId: customerIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema.optional(),
});
