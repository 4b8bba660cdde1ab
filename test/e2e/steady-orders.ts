// Orders arriving at a steady rate whatever happens to the stack (an open loop, as real customers do): every other
// create is first sent without an Idempotency-Key and retried with the one a 503 gives back, the others carry their
// own; each is retried after a 503 until it is answered 201. A share of the orders is cancelled at a random moment
// after its 201, the cancel sent again after a 503 until it is answered.
import { randomUUID } from 'node:crypto';
import type { OrderView } from '../../src/domain';
import { orderSchema } from '../../src/api/schemas/responses';
import type { ApiClient, CancelAnswer, HttpAnswer } from './api-client';
import { orderBody } from './workload';

export interface SteadyOrdersOptions {
  customerId: string;
  ratePerSecond: number;
  /** The share of orders cancelled (0–1), each at a moment drawn uniformly up to `maxCancelDelayMs` after its 201. */
  cancelShare: number;
  maxCancelDelayMs: number;
  /** How long one create or cancel keeps retrying. */
  retryForMs: number;
}

export interface CreateRecord {
  sentAt: number;
  /** The 201's time; undefined when the create never got one. */
  createdAt?: number;
  order?: OrderView;
  /** Every answer in order: the HTTP status, or 0 for no answer. */
  statuses: number[];
  /** Answers a careful client could not act on safely (a 503 without a key to retry with, a 5xx other than 503). */
  untrue: string[];
}

export interface CancelRecord {
  orderId: string;
  sentAt: number;
  answer?: CancelAnswer;
  failedAttempts: number;
  error?: string;
}

export interface SteadyResult {
  creates: CreateRecord[];
  cancels: CancelRecord[];
  /** Anything the driver itself could not handle (an answer that did not parse). */
  errors: string[];
}

const IDEMPOTENCY_KEY = 'idempotency-key';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the arrivals at once; `stop()` ends them and resolves when every create and cancel sent has its answer. */
export function startSteadyOrders(api: ApiClient, options: SteadyOrdersOptions): { stop(): Promise<SteadyResult> } {
  const { customerId, ratePerSecond, cancelShare, maxCancelDelayMs, retryForMs } = options;
  const batch = randomUUID();
  const creates: CreateRecord[] = [];
  const cancels: CancelRecord[] = [];
  const inFlight: Promise<void>[] = [];
  const errors: string[] = [];

  const cancelLater = async (orderId: string) => {
    await sleep(Math.random() * maxCancelDelayMs);
    const record: CancelRecord = { orderId, sentAt: Date.now(), failedAttempts: 0 };
    cancels.push(record);
    try {
      const { answer, failedAttempts } = await api.cancelRetrying(orderId, Date.now() + retryForMs);
      Object.assign(record, { answer, failedAttempts });
    } catch (error) {
      record.error = String(error);
    }
  };

  const create = async (index: number) => {
    // Three quarters approved, one declined: both endings, as in the other scenarios.
    const body = orderBody(customerId, index % 4 === 3 ? 'tok_decline' : 'tok_approve', index);
    const record: CreateRecord = { sentAt: Date.now(), statuses: [], untrue: [] };
    creates.push(record);
    const deadline = record.sentAt + retryForMs;
    let key = index % 2 === 0 ? `${batch}-${index}` : undefined;
    let backoffMs = 100;
    for (;;) {
      const answer: HttpAnswer | undefined = await api
        .postJson('/orders', body, key ? { [IDEMPOTENCY_KEY]: key } : {})
        .catch(() => undefined);
      record.statuses.push(answer?.status ?? 0);
      if (answer?.status === 201) {
        record.order = orderSchema.parse(JSON.parse(answer.text));
        record.createdAt = Date.now();
        break;
      }
      if (answer?.status === 503) {
        // Without a key of its own the client may retry only with the one the API gives back.
        key ??= answer.headers.get(IDEMPOTENCY_KEY) ?? undefined;
        if (!answer.headers.get('retry-after')) record.untrue.push('503 without Retry-After');
        if (!key) {
          record.untrue.push(`503 to a create without a key gives none back: ${answer.text.slice(0, 200)}`);
          return;
        }
      } else if (!key) {
        record.untrue.push(`${answer ? `HTTP ${answer.status}` : 'no answer'} to a create without a key`);
        return;
      } else if (answer) {
        record.untrue.push(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
        return;
      }
      if (Date.now() + backoffMs > deadline) {
        record.untrue.push(`no 201 within ${retryForMs} ms`);
        return;
      }
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
    if (Math.random() < cancelShare) await cancelLater(record.order.id);
  };

  let index = 0;
  const intervalMs = 1000 / ratePerSecond;
  const started = Date.now();
  // Each arrival at its scheduled time, whether or not the ones before it were answered.
  let timer: NodeJS.Timeout;
  const arrive = () => {
    inFlight.push(create(index++).catch((error: unknown) => void errors.push(String(error))));
    timer = setTimeout(arrive, Math.max(0, started + index * intervalMs - Date.now()));
  };
  arrive();

  return {
    async stop() {
      clearTimeout(timer);
      await Promise.all(inFlight);
      return { creates, cancels, errors };
    },
  };
}
