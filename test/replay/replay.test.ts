import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { orderWorkflowId, type OrderWorkflowInput } from '../../src/domain';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const quiet = new DefaultLogger('WARN');
const historiesDir = join(__dirname, '..', 'fixtures', 'histories');
/** One generation: the workflow's v2 histories, recorded by `npm run record-histories`. */
const historyFiles = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));
const everyPath = [
  'cancel-lost-to-delivery.json',
  'cancel-signalled.json',
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
  it('cover every path of the order workflow', () => {
    expect(historyFiles.sort()).toEqual(everyPath);
  });

  it('carry no patch markers: v2 starts clean', () => {
    for (const file of historyFiles) {
      const markers = (loadHistory(file).history.events ?? []).flatMap(
        (event) => event.markerRecordedEventAttributes?.markerName ?? [],
      );
      expect({ file, patches: markers.filter((name) => name === 'core_patch') }).toEqual({ file, patches: [] });
    }
  });

  it('include a cancel that lost to a committed delivery: the retried task follows the row', () => {
    const events = loadHistory('cancel-lost-to-delivery.json').history.events ?? [];
    expect(events.some((event) => event.workflowTaskFailedEventAttributes)).toBe(true);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
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
