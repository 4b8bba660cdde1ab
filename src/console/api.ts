// The console's calls to the API, each with the operator's Bearer token. A refusal is an ApiError with the API's
// problem detail; no answer at all is Unreachable, which the page shows as such.
import type { OrderState, OrderView } from '../domain/order';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Unreachable extends Error {}

export interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}

/** GET /orders/summary (src/api/reads/order-summary.ts). */
export interface OrderSummary {
  counts: Record<OrderState, number>;
  throughput: { minute: string; created: number; delivered: number }[];
}

export type CancelStatus = 'accepted' | 'rejected' | 'pending';

export interface CancelAnswer {
  status: CancelStatus;
  order: OrderView;
}

export interface ListFilter {
  state?: OrderState;
  customerId?: string;
  cursor?: string;
}

/** GET /console/settings.json. */
export interface ConsoleSettings {
  temporalUiUrl: string;
  namespace: string;
}

export const PAGE_SIZE = 20;

async function request(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      // Revalidates with the ETag the API sent: an unchanged page comes back as a bodiless 304.
      cache: 'no-cache',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new Unreachable('the API does not answer');
  }
}

async function bodyOf<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => undefined)) as (T & { detail?: string }) | undefined;
  if (!response.ok) throw new ApiError(response.status, body?.detail ?? `the API answered ${response.status}`);
  if (body === undefined) throw new ApiError(response.status, 'the API answered something that is not JSON');
  return body;
}

export function createApi(token: string) {
  const get = async <T>(path: string) => bodyOf<T>(await request(token, path));

  return {
    listOrders({ state, customerId, cursor }: ListFilter): Promise<OrderPage> {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (state) query.set('state', state);
      if (customerId) query.set('customerId', customerId);
      if (cursor) query.set('cursor', cursor);
      return get(`/orders?${query}`);
    },

    order: (id: string) => get<OrderView>(`/orders/${encodeURIComponent(id)}`),

    summary: () => get<OrderSummary>('/orders/summary'),

    settings: async () => bodyOf<ConsoleSettings>(await fetch('/console/settings.json')),

    /** The API's answer to the cancel: a refusal (409) is an answer too, with the order as it is. */
    async cancel(id: string, reason: string): Promise<CancelAnswer> {
      const response = await request(token, `/orders/${encodeURIComponent(id)}/cancel`, {
        method: 'POST',
        body: JSON.stringify(reason ? { reason } : {}),
      });
      if (response.status === 409) {
        const refused = (await response.json()) as { order: OrderView; cancellation: { status: CancelStatus } };
        return { status: refused.cancellation.status, order: refused.order };
      }
      const answer = await bodyOf<OrderView & { cancellation: { status: CancelStatus } }>(response);
      const { cancellation, ...order } = answer;
      return { status: cancellation.status, order };
    },
  };
}

export type Api = ReturnType<typeof createApi>;
