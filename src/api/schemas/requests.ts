// What the API accepts, beyond the order schemas the workflow shares (createOrderSchema, cancelOrderSchema).
import { z } from 'zod';
import { orderStates } from '../../domain';
import { cursorSchema } from '../cursor';

export const listOrdersQuerySchema = z.strictObject({
  state: z.enum(orderStates).optional(),
  customerId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema.optional(),
});
