// What the orders worker runs in the workflow sandbox, made by this one function whether the worker bundles at start
// or loads a bundle built ahead (scripts/build-workflow-bundle.ts: the image, the chart): the order workflow and the
// tracing interceptors. Those are in every bundle because a bundle built ahead cannot know whether the worker that
// loads it will trace, and code in the sandbox cannot ask it; they trace an order whose start carried a trace context
// (workflow-tracing.ts), and an untraced worker's sink drops the spans of one that did.
import { bundleWorkflowCode, type Logger, type WorkflowBundle } from '@temporalio/worker';

export interface OrderBundleOptions {
  /** The workflows module; by default the order workflow. Another one (another version, a test's variant) gets the
   *  same interceptors, so it runs in the same sandbox. */
  workflowsPath?: string;
  logger?: Logger;
}

export function bundleOrderWorkflows({ workflowsPath, logger }: OrderBundleOptions = {}): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: workflowsPath ?? require.resolve('../../workflows'),
    workflowInterceptorModules: [require.resolve('./workflow-tracing')],
    logger,
  });
}
