// The listing cursor is opaque to clients: base64url of the last order's (createdAt, id).
import { z } from 'zod';
import { orderIdSchema } from './schemas/order-input';
import type { ListPosition } from './order-reads';

const positionSchema = z.tuple([z.iso.datetime(), orderIdSchema]);

export function encodeCursor({ createdAt, id }: ListPosition): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): ListPosition | undefined {
  try {
    const parsed = positionSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? { createdAt: parsed.data[0], id: parsed.data[1] } : undefined;
  } catch {
    return undefined;
  }
}

export const CURSOR_DESCRIPTION =
  "An opaque token: a page's `nextCursor`, passed back unchanged to get the next page (base64url, 1–512 characters). Any other value is 400.";

/** A query-string cursor, checked and decoded while the query is validated. */
export const cursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,512}$/, 'is not a cursor returned by this API')
  .describe(CURSOR_DESCRIPTION)
  .transform((cursor, ctx) => {
    const position = decodeCursor(cursor);
    if (!position) ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this API' });
    return position ?? z.NEVER;
  });
