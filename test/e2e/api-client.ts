// The API as its clients meet it: HTTP to the API process, answers checked against the documented schemas.
import { cancelAnswerSchema, cancelRefusedSchema, orderSchema } from '../../src/api/schemas/responses';
import type { OrderView } from '../../src/domain';

export interface HttpAnswer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs?: number;
}

export interface CreateOrderBody {
  customerId: string;
  items: { sku: string; quantity: number; unitPrice: number }[];
  currency?: string;
  paymentToken?: string;
}

export interface RetriedCreate {
  order: OrderView;
  /** Requests sent, the successful one included. */
  attempts: number;
  /** How many of them were answered 503 or got no answer at all. */
  failedAttempts: number;
}

/** A cancel's answer: its HTTP status, `cancellation.status`, and the order as the API showed it. */
export interface CancelAnswer {
  status: number;
  cancellation: 'accepted' | 'rejected' | 'pending';
  order: OrderView;
}

export class UnexpectedAnswerError extends Error {
  override name = 'UnexpectedAnswerError';
  constructor(
    what: string,
    readonly answer: HttpAnswer,
  ) {
    super(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 500)}`);
  }
}

/**
 * The answer, or why there was none. Not `instanceof Error`: fetch's errors come from another realm than jest's
 * globals, so a lost connection would pass for an answer.
 */
function settled(request: Promise<HttpAnswer>): Promise<{ answer?: HttpAnswer; lost?: string }> {
  return request.then(
    (answer) => ({ answer }),
    (error: unknown) => ({ lost: String(error) }),
  );
}

function cancelAnswerOf(id: string, answer: HttpAnswer): CancelAnswer {
  if (answer.status === 200 || answer.status === 202) {
    const { cancellation, ...order } = cancelAnswerSchema.parse(JSON.parse(answer.text));
    return { status: answer.status, cancellation: cancellation.status, order };
  }
  if (answer.status === 409) {
    const { cancellation, order } = cancelRefusedSchema.parse(JSON.parse(answer.text));
    return { status: answer.status, cancellation: cancellation.status, order };
  }
  throw new UnexpectedAnswerError(`POST /orders/${id}/cancel`, answer);
}

export class ApiClient {
  /** `token` goes with every request that does not set its own Authorization header. */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async send(
    path: string,
    { method = 'GET', headers = {}, body, timeoutMs = 30_000 }: RawRequest = {},
  ): Promise<HttpAnswer> {
    const auth: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...auth, ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      headers: response.headers,
      text: await response.text(),
    };
  }

  postJson(path: string, value: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(value),
    });
  }

  /** POST /orders; the created (or, with a used key, replayed) order. Anything but 201 throws. */
  async createOrder(body: CreateOrderBody, idempotencyKey?: string): Promise<OrderView> {
    const answer = await this.postJson('/orders', body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    if (answer.status !== 201) throw new UnexpectedAnswerError('POST /orders', answer);
    return orderSchema.parse(JSON.parse(answer.text));
  }

  /**
   * POST /orders as a careful client does it: with an Idempotency-Key, retried after a 503 or a lost connection
   * until `deadline` (epoch ms), so a create that may or may not have happened is safe to repeat.
   */
  async createOrderRetrying(body: CreateOrderBody, idempotencyKey: string, deadline: number): Promise<RetriedCreate> {
    let attempts = 0;
    let backoffMs = 100;
    for (;;) {
      attempts += 1;
      const { answer, lost } = await settled(this.postJson('/orders', body, { 'idempotency-key': idempotencyKey }));
      if (answer?.status === 201) {
        return { order: orderSchema.parse(JSON.parse(answer.text)), attempts, failedAttempts: attempts - 1 };
      }
      const retryable = answer === undefined || answer.status === 503;
      if (!retryable || Date.now() + backoffMs > deadline) {
        throw answer === undefined
          ? new Error(`POST /orders (key ${idempotencyKey}) got no answer after ${attempts} attempts: ${lost}`)
          : new UnexpectedAnswerError(`POST /orders (key ${idempotencyKey}, attempt ${attempts})`, answer);
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
  }

  async getOrder(id: string): Promise<OrderView | undefined> {
    const answer = await this.send(`/orders/${id}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new UnexpectedAnswerError(`GET /orders/${id}`, answer);
    return orderSchema.parse(JSON.parse(answer.text));
  }

  /** POST /orders/:id/cancel; anything but 200, 202 or 409 with a cancellation throws. */
  async cancel(id: string, reason?: string): Promise<CancelAnswer> {
    const answer = await this.postJson(`/orders/${id}/cancel`, reason === undefined ? {} : { reason });
    return cancelAnswerOf(id, answer);
  }

  /**
   * POST /orders/:id/cancel as a careful client does it: sent again after a 503 or a lost connection until `deadline`
   * (epoch ms); the answer that decided it, and how many tries failed before it.
   */
  async cancelRetrying(id: string, deadline: number): Promise<{ answer: CancelAnswer; failedAttempts: number }> {
    let failedAttempts = 0;
    let backoffMs = 100;
    for (;;) {
      const { answer, lost } = await settled(this.postJson(`/orders/${id}/cancel`, {}));
      if (answer !== undefined && answer.status !== 503) return { answer: cancelAnswerOf(id, answer), failedAttempts };
      failedAttempts += 1;
      if (Date.now() + backoffMs > deadline) {
        throw answer === undefined
          ? new Error(`POST /orders/${id}/cancel got no answer after ${failedAttempts} attempts: ${lost}`)
          : new UnexpectedAnswerError(`POST /orders/${id}/cancel (attempt ${failedAttempts})`, answer);
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
  }

  async status(path: '/healthz' | '/readyz'): Promise<number> {
    return (await this.send(path, { timeoutMs: 10_000 })).status;
  }

  /** GET /readyz: the status, and which dependency it names as down (docs/http-api.md: "503 naming which"). */
  async readiness(): Promise<{ status: number; detail: string }> {
    const answer = await this.send('/readyz', { timeoutMs: 10_000 });
    const body = JSON.parse(answer.text) as { detail?: unknown };
    return { status: answer.status, detail: typeof body.detail === 'string' ? body.detail : '' };
  }
}
