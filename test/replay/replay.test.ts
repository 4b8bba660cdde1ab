import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { randomBytes } from 'node:crypto';
import { orderWorkflowId, type OrderWorkflowInput } from '../../src/domain';
import { EncryptionCodec } from '../../src/payload-codec';
import { discardedWorkflowSpans } from '../../src/telemetry';
import { bundleOrderWorkflows } from '../../src/workers/orders/workflow-bundle';
import { DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
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

/**
 * The histories are encrypted with the fixtures' key (written by record-histories); a newer key encrypts now. Replay
 * decrypting them proves a key rotation leaves every recorded order readable.
 */
const fixtureKeys = (
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'payload-keys.json'), 'utf8')) as {
    id: string;
    key: string;
  }[]
).map(({ id, key }) => ({ id, key: Buffer.from(key, 'base64') }));
const rotatedCodec = new EncryptionCodec([{ id: 'key-after-rotation', key: randomBytes(32) }, ...fixtureKeys]);

/** The workflow validates its id against the order's, so replay needs the recorded id, read from the input. */
async function loadHistory(file: string) {
  const history = historyFromJSON(JSON.parse(readFileSync(join(historiesDir, file), 'utf8')));
  const [input] = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  const [decoded] = await rotatedCodec.decode([input]);
  const { order } = defaultPayloadConverter.fromPayload<OrderWorkflowInput>(decoded);
  return { workflowId: orderWorkflowId(order.id), history, file };
}

async function replayAll(workflowBundle: WorkflowBundle) {
  const histories = await Promise.all(historyFiles.map(loadHistory));
  const fileOf = new Map(histories.map(({ workflowId, file }) => [workflowId, file]));
  const failures: { file: string; error: unknown }[] = [];
  const replayOptions = {
    workflowBundle,
    dataConverter: { payloadCodecs: [rotatedCodec] },
    sinks: discardedWorkflowSpans,
  };
  for await (const result of Worker.runReplayHistories(replayOptions, histories)) {
    if (result.error) failures.push({ file: fileOf.get(result.workflowId) ?? result.workflowId, error: result.error });
  }
  return failures;
}

describe('recorded order histories', () => {
  it('hold no readable order data: every payload but the search attributes went through the payload codec', () => {
    // Skipped: search attributes (plain on purpose), and a local activity marker's own bookkeeping (`details.data`:
    // sequence, attempt, activity type, time), which the SDK writes; the activity's result beside it is encrypted.
    const encodings = (node: unknown, key = '', parent = ''): string[] => {
      if (typeof node !== 'object' || node === null) return [];
      if (key === 'searchAttributes' || (parent === 'details' && key === 'data')) return [];
      const { metadata, data } = node as { metadata?: Record<string, string>; data?: unknown };
      if (metadata?.encoding && typeof data === 'string') return [Buffer.from(metadata.encoding, 'base64').toString()];
      return Object.entries(node).flatMap(([childKey, child]) => encodings(child, childKey, key));
    };
    for (const file of historyFiles) {
      const found = encodings(JSON.parse(readFileSync(join(historiesDir, file), 'utf8')));
      expect(found.length).toBeGreaterThan(3);
      expect({ file, plain: found.filter((encoding) => encoding !== 'binary/encrypted') }).toEqual({ file, plain: [] });
    }
  });

  it('cover every path of the order workflow', () => {
    expect(historyFiles.sort()).toEqual(everyPath);
  });

  it('carry no patch markers: v2 starts clean', async () => {
    for (const file of historyFiles) {
      const markers = ((await loadHistory(file)).history.events ?? []).flatMap(
        (event) => event.markerRecordedEventAttributes?.markerName ?? [],
      );
      expect({ file, patches: markers.filter((name) => name === 'core_patch') }).toEqual({ file, patches: [] });
    }
  });

  it('include a cancel that lost to a committed delivery: the retried task follows the row', async () => {
    const events = (await loadHistory('cancel-lost-to-delivery.json')).history.events ?? [];
    expect(events.some((event) => event.workflowTaskFailedEventAttributes)).toBe(true);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
  });

  it('replay without nondeterminism against the current workflow code, bundled as the image bundles it', async () => {
    // Tracing interceptors included (src/workers/orders/workflow-bundle.ts): recorded without them, histories replay.
    expect(await replayAll(await bundleOrderWorkflows({ logger: quiet }))).toEqual([]);
  });

  it('fail to replay against a workflow changed incompatibly, so such a change cannot pass unnoticed', async () => {
    const bundle = await bundleOrderWorkflows({
      workflowsPath: require.resolve('./incompatible-workflow'),
      logger: quiet,
    });
    const failures = await replayAll(bundle);
    expect(failures.map((f) => f.file).sort()).toEqual([...historyFiles].sort());
    for (const { error } of failures) expect(error).toBeInstanceOf(DeterminismViolationError);
  });
});
