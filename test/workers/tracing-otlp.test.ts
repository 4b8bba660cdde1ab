// The OTLP side of tracing (src/telemetry.ts): OTEL_EXPORTER_OTLP_ENDPOINT validated once in config, and spans
// posted to `<endpoint>/v1/traces` of a collector stood in for by a loopback HTTP server.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { loadConfig } from '../../src/config';
import { startTracing } from '../../src/telemetry';

interface Received {
  path: string;
  contentType: string;
  body: string;
}

let collector: Server;
let endpoint: string;
const received: Received[] = [];

beforeAll(async () => {
  collector = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});

afterAll(async () => {
  collector.closeAllConnections();
  await new Promise((resolve) => collector.close(resolve));
});

describe('OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('is optional, and must be an http(s) URL when given', () => {
    expect(loadConfig({}).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://otel:4318',
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

it('posts the spans of a service to <endpoint>/v1/traces, flushed on shutdown', async () => {
  const tracing = startTracing('orders-worker', { endpoint });
  expect(tracing).toBeDefined();
  trace.getTracer('order-system').startSpan('recordTransition').end();
  await tracing!.shutdown();

  expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
  expect(received[0].contentType).toMatch(/application\/json/);
  expect(received[0].body).toContain('"recordTransition"');
  expect(received[0].body).toContain('"orders-worker"');
});
