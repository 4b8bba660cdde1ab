// Bundles the workflow code ahead of time (the Docker image does this at build), so the orders worker
// starts from WORKFLOW_BUNDLE_PATH instead of running webpack at every start.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const bundlePath = path.resolve(__dirname, '../dist/workflow-bundle.js');

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows') });
  await mkdir(path.dirname(bundlePath), { recursive: true });
  await writeFile(bundlePath, code);
  console.log(`workflow bundle written to ${path.relative(process.cwd(), bundlePath)}`);
}

main().catch((error: unknown) => {
  console.error(`workflow bundle failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
