// The listing cursor: where the last page ended, as `<createdAt in ms since the epoch>-<order id>`. Every string of
// that form is a position in the listing, so the pattern the OpenAPI document gives admits exactly the valid cursors
// (a fuzzer that follows it gets no 400). Clients pass a page's `nextCursor` back unchanged.
import { z } from 'zod';
import type { ListPosition } from './order-reads';

// At most 14 digits: up to the year 5138, within what an ISO time and PostgreSQL's timestamptz both take.
export const CURSOR_PATTERN =
  /^([0-9]{1,14})-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

export function encodeCursor({ createdAt, id }: ListPosition): string {
  return `${Date.parse(createdAt)}-${id}`;
}

export const CURSOR_DESCRIPTION =
  "A page's `nextCursor`, passed back unchanged to get the next page: the last order's creation time (ms since the epoch) and id.";

/** A query-string cursor, checked and decoded while the query is validated. */
export const cursorSchema = z
  .string()
  .regex(CURSOR_PATTERN, 'is not a cursor: <ms since the epoch>-<order id>')
  .describe(CURSOR_DESCRIPTION)
  .transform((cursor): ListPosition => {
    const [, ms, id] = CURSOR_PATTERN.exec(cursor)!;
    return { createdAt: new Date(Number(ms)).toISOString(), id };
  });
