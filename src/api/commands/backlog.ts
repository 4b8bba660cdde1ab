// Backpressure: how many orders wait for an orders worker, read from Temporal's own statistics of the `orders`
// workflow task queue (the same figure KEDA scales on). One describe per refresh interval at most, whatever the
// request rate; between refreshes the orders this API started are added to the last figure.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ORDERS_TASK_QUEUE } from '../../domain';

export interface Backlog {
  /** Seconds a client should wait before retrying when the backlog is full; undefined when there is room. */
  retryAfterSeconds(): Promise<number | undefined>;
  /** Counts an order this API has just started, until the next refresh sees it. */
  added(): void;
}

export interface BacklogOptions {
  client: Client;
  /** Orders that may wait; 0 turns backpressure off. */
  maxBacklog: number;
  refreshMs?: number;
}

interface Reading {
  count: number;
  /** Tasks per second the workers take from the queue, over the last 30 s. */
  dispatchRate: number;
  at: number;
}

export function createBacklog({ client, maxBacklog, refreshMs = 1_000 }: BacklogOptions): Backlog {
  let reading: Reading | undefined;
  let addedSinceReading = 0;
  let refreshing: Promise<void> | undefined;

  async function read(): Promise<void> {
    const { stats } = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: ORDERS_TASK_QUEUE, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    });
    reading = {
      count: Number(stats?.approximateBacklogCount ?? 0),
      dispatchRate: stats?.tasksDispatchRate ?? 0,
      at: Date.now(),
    };
    addedSinceReading = 0;
  }

  function refresh(): Promise<void> {
    // A failed read leaves the last one standing: an unreachable Temporal fails the start itself, with its own answer.
    refreshing ??= read()
      .catch(() => undefined)
      .finally(() => (refreshing = undefined));
    return refreshing;
  }

  return {
    async retryAfterSeconds() {
      if (maxBacklog === 0) return undefined;
      if (!reading) await refresh();
      else if (Date.now() - reading.at > refreshMs) void refresh();
      if (!reading) return undefined;
      const excess = reading.count + addedSinceReading - maxBacklog;
      if (excess < 0) return undefined;
      // As long as the workers need to take the excess at their current pace, within reason.
      return Math.min(60, Math.max(1, Math.ceil(excess / Math.max(reading.dispatchRate, 1))));
    },
    added() {
      addedSinceReading += 1;
    },
  };
}
