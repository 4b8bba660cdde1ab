// Prometheus metrics: HTTP traffic by route template, and orders by state read from Postgres at scrape time.
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { orderStates } from '../../domain';
import type { OrderReads } from '../reads/order-reads';
import { routeTemplate } from './route-template';

export interface ApiMetrics {
  registry: Registry;
  /** Counts and times every request under its route template (`/orders/:id`), `unmatched` for unknown paths. */
  recordRequests: RequestHandler;
}

export function createMetrics({ reads, logger }: { reads: OrderReads; logger: Logger }): ApiMetrics {
  // One registry per app, so several apps in one process (tests) keep separate counts.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by method, route template and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'orders',
    help: 'Orders in Postgres by current state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      try {
        const counts = await reads.countByState();
        for (const state of orderStates) this.set({ state }, counts.get(state) ?? 0);
      } catch (error) {
        // A scrape still answers while Postgres is down; the gauge is simply absent.
        this.reset();
        logger.warn({ err: error }, 'orders gauge: postgres unavailable');
      }
    },
  });

  const recordRequests: RequestHandler = (req, res, next) => {
    const stopTimer = duration.startTimer();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeTemplate(req), status: res.statusCode };
      requests.inc(labels);
      stopTimer(labels);
    });
    next();
  };

  return { registry, recordRequests };
}
