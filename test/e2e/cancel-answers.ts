// Whether each cancel answer was borne out: `accepted` ends cancelled, `rejected` never does, and a `pending` request
// is decided later and shows how in the order's history (cancelled, or the cancel's rejection recorded).
import type { Db } from '../../src/db/knex';
import type { CancelAnswer } from './api-client';
import { statesOf } from './order-probes';

/** The outcomes that show an answer was not borne out, or a cancel both honoured and rejected, or neither. */
export const untrueOutcome = (outcome: string) => /^(both|neither|untrue)/.test(outcome);

/** One line per cancelled order: how it ended against the cancel's answer (see `untrueOutcome`). */
export async function cancelOutcomes(
  db: Db,
  answers: ReadonlyMap<string, CancelAnswer['cancellation']>,
): Promise<string[]> {
  const ids = [...answers.keys()];
  const rejections: { order_id: string }[] = await db('orders.order_events')
    .whereIn('order_id', ids)
    .where({ event: 'cancel_rejected' })
    .select('order_id');
  const rejected = new Set(rejections.map((r) => r.order_id));
  const states = await statesOf(db, ids);
  return ids.map((id) => {
    const state = states.get(id);
    const answer = answers.get(id);
    if (state === 'cancelled') {
      if (rejected.has(id)) return `both: ${id} cancelled and its cancel rejected`;
      return answer === 'rejected' ? `untrue: ${id} cancelled after a rejected cancel` : 'cancelled';
    }
    if (state === 'delivered' && answer === 'accepted') return `untrue: ${id} delivered after an accepted cancel`;
    if (state === 'delivered' && rejected.has(id)) return 'delivered, cancel rejected';
    if (state === 'delivered' && answer === 'rejected') return 'delivered, cancel answered rejected';
    return `neither: ${id} is ${state}, cancel answered ${answer}, no rejection recorded`;
  });
}

/** How many orders ended each way. */
export const tallyOutcomes = (outcomes: readonly string[]) =>
  outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o]: (acc[o] ?? 0) + 1 }), {});
