// What the orders worker runs in the workflow sandbox, the same whether it bundles at start or loads a bundle built
// ahead (scripts/build-workflow-bundle.ts: the image, the chart): the order workflow and the OpenTelemetry workflow
// interceptors. Those are in every bundle, traced or not, because a bundle built ahead cannot know whether the worker
// that loads it will trace, and code in the sandbox cannot ask it; untraced, the worker's sink discards the spans.
import { bundleWorkflowCode, type Logger, type WorkflowBundle } from '@temporalio/worker';

export const orderWorkflowsPath = require.resolve('../../workflows');

/** The SDK's module, the one its OpenTelemetryPlugin adds to a worker that bundles: the bundler keeps one copy. */
export const workflowInterceptorModules = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

export function bundleOrderWorkflows(logger?: Logger): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: orderWorkflowsPath, workflowInterceptorModules, logger });
}
