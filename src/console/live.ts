// Live updates: reads the API's event stream GET /orders/changes with fetch (EventSource cannot send the Bearer
// header) and reconnects, with a growing pause, whenever the stream ends or the API does not answer. A change is
// passed on at once after a quiet spell, and at most once a second while orders keep changing (docs/console.md).
export type LiveState = 'connecting' | 'live' | 'down';

export interface LiveHandlers {
  state(state: LiveState): void;
  /** Orders may have changed: after `change` events (throttled), and once the stream is (back) up to catch up. */
  changed(): void;
  /** The token was refused (401/403): reconnecting will not help. */
  refused(status: number): void;
}

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 15_000;
/** While orders keep changing, the page reads them again at most this often. */
const REREAD_MS = 1_000;

/** `notify`, at once when it last ran REREAD_MS or more ago, else once when that much time has passed. */
function throttled(notify: () => void): () => void {
  let last = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    pending = undefined;
    last = Date.now();
    notify();
  };
  return () => {
    if (pending) return;
    const wait = last + REREAD_MS - Date.now();
    if (wait <= 0) run();
    else pending = setTimeout(run, wait);
  };
}

/** Events of a text/event-stream body, one per blank-line-separated block. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: ?(.*)$/m.exec(block)?.[1];
      if (name) yield name;
    }
  }
}

/** Follows the stream until the returned function is called. */
export function followChanges(token: string, on: LiveHandlers): () => void {
  const abort = new AbortController();
  let retryMs = FIRST_RETRY_MS;
  const changed = throttled(() => {
    if (!abort.signal.aborted) on.changed();
  });

  async function connect(): Promise<void> {
    on.state('connecting');
    const response = await fetch('/orders/changes', {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (response.status === 401 || response.status === 403) {
      on.refused(response.status);
      return;
    }
    if (!response.ok || !response.body) throw new Error(`the event stream answered ${response.status}`);
    for await (const event of events(response.body)) {
      if (event === 'ready') {
        retryMs = FIRST_RETRY_MS;
        on.state('live');
      }
      changed();
    }
    throw new Error('the event stream ended');
  }

  async function run(): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        await connect();
        return;
      } catch {
        if (abort.signal.aborted) return;
        on.state('down');
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
      }
    }
  }

  void run();
  return () => abort.abort();
}
