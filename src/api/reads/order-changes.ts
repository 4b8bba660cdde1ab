// Tells open consoles that orders changed. One probe of two indexed maxima per interval, shared by every subscriber of
// this process and run only while someone is subscribed: its cost does not grow with the consoles, and is nothing
// with none open (docs/console.md has the figures that chose this over polling with ETags).
import type { Db } from '../../db/knex';
import { EVENTS, ORDERS } from '../../db/orders-schema';
import type { Logger } from '../../logging';

/** How often the probe looks: an open console hears of a change within this long (consoles throttle their reads). */
export const CHANGE_PROBE_MS = 500;

export interface ChangeListener {
  /** Orders changed since the last probe. */
  changed(): void;
  /** No more changes will come: the process is shutting down. */
  closed(): void;
}

export interface OrderChanges {
  /** Tells `listener` after each probe that saw orders change; the returned function stops that. */
  subscribe(listener: ChangeListener): () => void;
  subscribers(): number;
  /** Stops probing and tells every subscriber so, and any later one at once (the process is shutting down). */
  close(): void;
}

export function createOrderChanges({
  db,
  logger,
  intervalMs = CHANGE_PROBE_MS,
}: {
  db: Db;
  logger: Logger;
  intervalMs?: number;
}): OrderChanges {
  const listeners = new Set<ChangeListener>();
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let closed = false;
  // An outage is logged when the probe first fails and when it works again, not every interval in between.
  let failing = false;

  // A new event row (every transition and rejected cancel writes one) or a newer updated_at (a payment's status).
  async function fingerprint(): Promise<string> {
    const row = await db
      .select(db.raw(`(select max(id) from ${EVENTS}) as event, (select max(updated_at) from ${ORDERS}) as updated`))
      .first<{ event: number | null; updated: Date | null }>();
    return `${row?.event ?? 0}/${row?.updated?.toISOString() ?? ''}`;
  }

  async function probe(): Promise<void> {
    try {
      const seen = await fingerprint();
      const changed = last !== undefined && seen !== last;
      last = seen;
      if (failing) logger.info('order changes: probe works again');
      failing = false;
      if (changed) for (const listener of [...listeners]) listener.changed();
    } catch (error) {
      if (!failing) logger.warn({ err: error }, 'order changes: probe failed; retrying quietly until it works');
      failing = true;
    }
    if (listeners.size > 0) timer = setTimeout(() => void probe(), intervalMs);
    else timer = undefined;
  }

  return {
    subscribe(listener) {
      if (closed) {
        listener.closed();
        return () => undefined;
      }
      listeners.add(listener);
      if (!timer) {
        last = undefined;
        timer = setTimeout(() => void probe(), 0);
      }
      return () => listeners.delete(listener);
    },
    subscribers: () => listeners.size,
    close() {
      closed = true;
      for (const listener of [...listeners]) listener.closed();
      listeners.clear();
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
