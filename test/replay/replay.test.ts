import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const quiet = new DefaultLogger('WARN');
const historiesDir = join(__dirname, '..', 'fixtures', 'histories');
const historyFiles = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));

function loadHistory(file: string) {
  return { workflowId: file, history: historyFromJSON(JSON.parse(readFileSync(join(historiesDir, file), 'utf8'))) };
}

async function replayAll(workflowBundle: WorkflowBundleWithSourceMap) {
  const failures: { file: string; error: unknown }[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, historyFiles.map(loadHistory))) {
    if (result.error) failures.push({ file: result.workflowId, error: result.error });
  }
  return failures;
}

describe('recorded order histories', () => {
  it('cover every path of the order workflow', () => {
    expect(historyFiles.sort()).toEqual(
      [
        'cancelled-in-confirmed.json',
        'cancelled-in-created.json',
        'declined.json',
        'delivered.json',
        'duplicate-cancel.json',
        'invalid-token.json',
        'payment-retried.json',
        'workflow-cancelled.json',
      ].sort(),
    );
  });

  it('replay without nondeterminism against the current workflow code', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet });
    expect(await replayAll(bundle)).toEqual([]);
  });

  it('fail to replay against a workflow changed incompatibly, so such a change cannot pass unnoticed', async () => {
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./incompatible-workflow'),
      logger: quiet,
    });
    const failures = await replayAll(bundle);
    expect(failures.map((f) => f.file).sort()).toEqual([...historyFiles].sort());
    for (const { error } of failures) expect(error).toBeInstanceOf(DeterminismViolationError);
  });
});
