// Every cancel request of one order, however it came (the API's Update, a signal, the workflow's own cancellation),
// and what became of it: the one the story acts on, each request's answer, and the ones that came too late.
import { allHandlersFinished, CancellationScope, condition, uuid4 } from '@temporalio/workflow';
import {
  cancelReasons,
  isFinal,
  type CancelDecision,
  type CancelRejectionRecord,
  type CancelRequest,
  type OrderView,
} from '../domain';

/** The cancel the story acts on. */
export interface HonouredCancel {
  reason: string;
  requestedBy: string | null;
}

type WaitingRequest = Omit<CancelRejectionRecord, 'state' | 'at'>;

export class CancelRequests {
  /** The first request that came while the order could still be cancelled. */
  private honoured: HonouredCancel | undefined;
  /** Each request's answer by request id, so the same request sent twice (Update, then signal) counts once. */
  private readonly decisions = new Map<string, Promise<CancelDecision>>();
  /** Requests waiting for the row's final word on the order. */
  private readonly waiting = new Map<string, WaitingRequest>();
  /** Requests that found the order delivered: the order's history must still say they came. */
  private readonly rejected: CancelRejectionRecord[] = [];

  /** `order` is the workflow's view, changed in place as the story goes on. */
  constructor(private readonly order: OrderView) {}

  /** The cancel the story acts on, if one came; read afresh after every await, since handlers change it. */
  pending(): HonouredCancel | undefined {
    return this.honoured;
  }

  /** Takes a request and answers it once the row has said whether the order ended cancelled or delivered. */
  request({ reason = cancelReasons.customerRequest, requestId = uuid4(), requestedBy }: CancelRequest) {
    const known = this.decisions.get(requestId);
    if (known) return known;
    const by = requestedBy ?? null;
    if (!isFinal(this.order.state)) this.honoured ??= { reason, requestedBy: by };
    this.waiting.set(requestId, { orderId: this.order.id, requestId, reason, requestedBy: by });
    this.orderChanged();
    const decision = CancellationScope.nonCancellable(async (): Promise<CancelDecision> => {
      await condition(() => isFinal(this.order.state));
      return { status: this.order.state === 'cancelled' ? 'accepted' : 'rejected', order: this.order };
    });
    this.decisions.set(requestId, decision);
    return decision;
  }

  /** Called after every change of the order's state: once it is final, the waiting requests have their answer. */
  orderChanged(): void {
    const { state } = this.order;
    if (!isFinal(state)) return;
    if (state === 'delivered') {
      const at = new Date().toISOString();
      for (const request of this.waiting.values()) this.rejected.push({ ...request, state, at });
    }
    this.waiting.clear();
  }

  /** The next request that came too late, once no handler is mid-way; none when all are written. */
  async nextRejected(): Promise<CancelRejectionRecord | undefined> {
    await condition(allHandlersFinished);
    return this.rejected.shift();
  }
}
