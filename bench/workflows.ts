// Baseline workflows: the least a workflow can do on this server, to set the orders' figures against.
import { proxyActivities, proxySinks, type Sinks } from '@temporalio/workflow';

export interface BaselineActivities {
  noop(): Promise<void>;
}

export interface BaselineSinks extends Sinks {
  /** Tells the bench, in its own process, when a baseline workflow finished: no polling of the server. */
  baseline: { finished(): void };
}

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });
const { baseline } = proxySinks<BaselineSinks>();

export async function emptyWorkflow(): Promise<void> {
  baseline.finished();
}

export async function oneActivityWorkflow(): Promise<void> {
  await noop();
  baseline.finished();
}
