// The one builder of the workflow sandbox: the orders worker (at start), the image's script
// (scripts/build-workflow-bundle.ts), the e2e stack, the workflow tier and the replay tier all run what it makes.
// Every bundle carries the tracing interceptors (src/workflows/tracing-interceptors.ts): a bundle built ahead cannot
// know whether the worker that loads it will trace, and code in the sandbox cannot ask it; they trace an order whose
// start carried a trace context, and an untraced worker's sink drops the spans of one that did.
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
    workflowInterceptorModules: [require.resolve('../../workflows/tracing-interceptors')],
    logger,
  });
}
