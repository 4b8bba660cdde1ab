// Bundles the workflow code ahead of time (the Docker image does this at build), so the orders worker
// starts from WORKFLOW_BUNDLE_PATH instead of running webpack at every start. The bundle is the one the worker
// would make itself, made by the one bundler (src/workers/orders/workflow-bundle.ts).
// `npm run build:workflows [-- <path>]`, by default dist/workflow-bundle.js.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleOrderWorkflows } from '../src/workers/orders/workflow-bundle';

const bundlePath = path.resolve(process.argv[2] ?? path.join(__dirname, '../dist/workflow-bundle.js'));

async function main(): Promise<void> {
  const { code } = await bundleOrderWorkflows();
  await mkdir(path.dirname(bundlePath), { recursive: true });
  await writeFile(bundlePath, code);
  console.log(`workflow bundle written to ${path.relative(process.cwd(), bundlePath)}`);
}

main().catch((error: unknown) => {
  console.error(`workflow bundle failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
