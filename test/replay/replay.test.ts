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
 * Every generation of the workflow's histories, kept: remote-writes/ (before any patch), local-writes/ (patch
 * local-order-writes), current/ (also delivery-timer-at-decision and rejections-outlive-cancel; re-recorded by
 * `npm run record-histories`), and upgraded/ (an order begun before any patch and ended on the current code).
 */
const generations = ['remote-writes', 'local-writes', 'current', 'upgraded'] as const;
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
  it('cover every path of the order workflow in every generation, and an upgrade between', () => {
    expect(historyFiles.sort()).toEqual(
      [
        ...['remote-writes', 'local-writes', 'current'].flatMap((dir) => everyPath.map((file) => `${dir}/${file}`)),
        'current/workflow-cancelled-and-signalled.json',
        'remote-writes/workflow-cancelled-and-signalled.json',
        'upgraded/confirmed-then-cancelled-twice.json',
      ].sort(),
    );
  });

  it('are what their folder says: which patches they carry, and where', () => {
    const events = (file: string) => loadHistory(file).history.events ?? [];
    const patches = (file: string) =>
      events(file).flatMap((event, index) => {
        const marker = event.markerRecordedEventAttributes;
        if (marker?.markerName !== 'core_patch') return [];
        const [data] = marker.details?.['patch-data']?.payloads ?? [];
        return [{ id: defaultPayloadConverter.fromPayload<{ id: string }>(data).id, index }];
      });
    const firstActivity = (file: string) =>
      events(file).findIndex((event) => event.activityTaskScheduledEventAttributes);
    const confirmed = [
      'delivered',
      'payment-retried',
      'cancelled-in-confirmed',
      'duplicate-cancel',
      'workflow-cancelled',
      'workflow-cancelled-and-signalled',
    ];
    const rejected = ['duplicate-cancel', 'workflow-cancelled-and-signalled'];
    for (const file of historyFiles) {
      const [dir, name] = file.replace(/\.json$/, '').split('/');
      const found = patches(file);
      const ids = found.map((patch) => patch.id);
      const expected = {
        'remote-writes': [],
        'local-writes': ['local-order-writes'],
        current: [
          'local-order-writes',
          ...(confirmed.includes(name) ? ['delivery-timer-at-decision'] : []),
          ...(rejected.includes(name) ? ['rejections-outlive-cancel'] : []),
        ],
        upgraded: ['rejections-outlive-cancel', 'local-order-writes'],
      }[dir as (typeof generations)[number]];
      expect({ file, ids }).toEqual({ file, ids: expected });
      // A new order meets its first patch before any activity; an upgraded one, after the old code's activities.
      if (dir === 'local-writes' || dir === 'current') expect(found[0].index).toBeLessThan(firstActivity(file));
      if (dir === 'upgraded') expect(found[0].index).toBeGreaterThan(firstActivity(file));
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
