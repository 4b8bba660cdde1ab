import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { orderWorkflowId, type OrderWorkflowInput } from '../../src/domain';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const quiet = new DefaultLogger('WARN');
const historiesDir = join(__dirname, '..', 'fixtures', 'histories');
/**
 * remote-writes/: every path as recorded before the order's writes became local activities (patch local-order-writes);
 * local-writes/: every path as the current code records it; upgraded/: an order begun on the old code, ended on the new.
 */
const generations = ['remote-writes', 'local-writes', 'upgraded'] as const;
const historyFiles = generations.flatMap((dir) =>
  readdirSync(join(historiesDir, dir))
    .filter((file) => file.endsWith('.json'))
    .map((file) => `${dir}/${file}`),
);
const everyPath = [
  'cancelled-in-confirmed.json',
  'cancelled-in-created.json',
  'declined.json',
  'delivered.json',
  'duplicate-cancel.json',
  'invalid-token.json',
  'payment-retried.json',
  'workflow-cancelled.json',
];

/** The workflow validates its id against the order's, so replay needs the recorded id, read from the input. */
function loadHistory(file: string) {
  const history = historyFromJSON(JSON.parse(readFileSync(join(historiesDir, file), 'utf8')));
  const [input] = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  const { order } = defaultPayloadConverter.fromPayload<OrderWorkflowInput>(input);
  return { workflowId: orderWorkflowId(order.id), history, file };
}

async function replayAll(workflowBundle: WorkflowBundleWithSourceMap) {
  const histories = historyFiles.map(loadHistory);
  const fileOf = new Map(histories.map(({ workflowId, file }) => [workflowId, file]));
  const failures: { file: string; error: unknown }[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) failures.push({ file: fileOf.get(result.workflowId) ?? result.workflowId, error: result.error });
  }
  return failures;
}

describe('recorded order histories', () => {
  it('cover every path of the order workflow, before and after its writes became local, and an upgrade between', () => {
    expect(historyFiles.sort()).toEqual(
      [
        ...everyPath.map((file) => `remote-writes/${file}`),
        ...everyPath.map((file) => `local-writes/${file}`),
        'upgraded/confirmed-then-cancelled-twice.json',
      ].sort(),
    );
  });

  it('are what their folder says: the patch marker absent, first, or after the old activities', () => {
    const markers = (file: string) =>
      (loadHistory(file).history.events ?? []).flatMap((event, index) => {
        const name = event.markerRecordedEventAttributes?.markerName;
        return name ? [{ name, index }] : [];
      });
    const firstActivity = (file: string) =>
      (loadHistory(file).history.events ?? []).findIndex((event) => event.activityTaskScheduledEventAttributes);
    for (const file of historyFiles) {
      const patch = markers(file).find((marker) => marker.name === 'core_patch');
      if (file.startsWith('remote-writes/')) expect({ file, patch }).toEqual({ file, patch: undefined });
      if (file.startsWith('local-writes/')) expect(patch!.index).toBeLessThan(firstActivity(file));
      if (file.startsWith('upgraded/')) expect(patch!.index).toBeGreaterThan(firstActivity(file));
    }
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
