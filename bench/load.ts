// Bounded load: a fixed number of operations at a fixed concurrency (closed loop), cut short at a deadline.
import { Agent, request } from 'node:http';
import { distribution, perSecond, type Distribution } from './stats';

export interface LoopOptions {
  concurrency: number;
  count: number;
  /** No new operation starts after this long; the run reports what it completed. */
  maxMs: number;
  operation: (index: number) => Promise<void>;
  /** Called about four times a second with the operations finished so far. */
  onProgress?: (done: number) => void;
}

export interface LoopResult {
  completed: number;
  failed: number;
  /** Failures by kind (`HTTP 503`, an error's name), so a report says what went wrong, not just how often. */
  failures: Record<string, number>;
  /** Latency of each completed operation, in milliseconds. */
  latenciesMs: number[];
  startedAt: number;
  elapsedMs: number;
}

/** What a closed loop measured, as the report keeps it. */
export interface Throughput {
  completed: number;
  failed: number;
  failures: Record<string, number>;
  perSecond: number;
  latencyMs: Distribution;
}

export function throughput(result: LoopResult): Throughput {
  return {
    completed: result.completed,
    failed: result.failed,
    failures: result.failures,
    perSecond: perSecond(result.completed, result.elapsedMs),
    latencyMs: distribution(result.latenciesMs),
  };
}

export class OperationError extends Error {
  constructor(readonly kind: string) {
    super(kind);
    this.name = 'OperationError';
  }
}

export async function closedLoop({
  concurrency,
  count,
  maxMs,
  operation,
  onProgress,
}: LoopOptions): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  let failed = 0;
  const startedAt = Date.now();
  const deadline = startedAt + maxMs;
  const lane = async () => {
    while (next < count && Date.now() < deadline) {
      const index = next++;
      const begun = performance.now();
      try {
        await operation(index);
        latenciesMs.push(performance.now() - begun);
      } catch (error) {
        failed++;
        const kind = error instanceof OperationError ? error.kind : error instanceof Error ? error.name : 'error';
        failures[kind] = (failures[kind] ?? 0) + 1;
      }
    }
  };
  const ticker = onProgress && setInterval(() => onProgress(latenciesMs.length + failed), 250);
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  onProgress?.(latenciesMs.length + failed);
  return { completed: latenciesMs.length, failed, failures, latenciesMs, startedAt, elapsedMs: Date.now() - startedAt };
}

// Keep-alive, as a real client or load balancer would: the figures are the API's, not TCP handshakes'.
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

export interface HttpAnswer {
  status: number;
  body: string;
}

export function postJson(
  url: string,
  value: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  const payload = JSON.stringify(value);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new OperationError('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

export function closeConnections(): void {
  agent.destroy();
}
