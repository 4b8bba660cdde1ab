// Recorded histories of every build, replayed with Worker.runReplayHistories: each build's bundle replays its own
// generation and those it takes orders over from, and refuses those it changed the workflow incompatibly with.
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { discardedWorkflowSpans } from '../../src/telemetry';
import { bundleOrderWorkflows } from '../../src/workers/orders/workflow-bundle';
import { historyFiles, loadHistories, rotatedCodec, type RecordedHistory } from '../support/recorded-histories';
import { recordedBuilds, type RecordedBuild } from './builds';

const quiet = new DefaultLogger('WARN');
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
const { VersioningBehavior } = temporal.api.enums.v1;

/** Each build's bundle, made once, as the image makes it (tracing interceptors included). */
const bundles = new Map<string, Promise<WorkflowBundle>>();
const bundleOf = (build: RecordedBuild) => {
  if (!bundles.has(build.name)) {
    bundles.set(build.name, bundleOrderWorkflows({ workflowsPath: build.workflowsPath, logger: quiet }));
  }
  return bundles.get(build.name)!;
};

async function replay(workflowBundle: WorkflowBundle, histories: RecordedHistory[]) {
  const of = new Map(histories.map((h) => [h.workflowId, `${h.build}/${h.file}`]));
  const failures: { file: string; error: unknown }[] = [];
  const options = { workflowBundle, dataConverter: { payloadCodecs: [rotatedCodec] }, sinks: discardedWorkflowSpans };
  for await (const result of Worker.runReplayHistories(options, histories)) {
    if (result.error) failures.push({ file: of.get(result.workflowId) ?? result.workflowId, error: result.error });
  }
  return failures;
}

describe.each(recordedBuilds)('build $name', (build) => {
  let histories: RecordedHistory[];

  beforeAll(async () => {
    histories = await loadHistories(build.name);
  });

  it('has a recorded history of every path of the order workflow', () => {
    expect(historyFiles(build.name)).toEqual(everyPath);
  });

  it('has histories that hold no readable order data: every payload but the search attributes was encrypted', () => {
    // Skipped: search attributes (plain on purpose), and a local activity marker's own bookkeeping (`details.data`:
    // sequence, attempt, activity type, time), which the SDK writes; the activity's result beside it is encrypted.
    const encodings = (node: unknown, key = '', parent = ''): string[] => {
      if (typeof node !== 'object' || node === null) return [];
      if (key === 'searchAttributes' || (parent === 'details' && key === 'data')) return [];
      const { metadata, data } = node as { metadata?: Record<string, string>; data?: unknown };
      if (metadata?.encoding && typeof data === 'string') return [Buffer.from(metadata.encoding, 'base64').toString()];
      return Object.entries(node).flatMap(([childKey, child]) => encodings(child, childKey, key));
    };
    for (const { file, json } of histories) {
      const found = encodings(json);
      expect(found.length).toBeGreaterThan(3);
      expect({ file, plain: found.filter((encoding) => encoding !== 'binary/encrypted') }).toEqual({ file, plain: [] });
    }
  });

  it('has histories with no patch markers: versioning, not patching, separates the builds', () => {
    for (const { file, history } of histories) {
      const markers = (history.events ?? []).flatMap((event) => event.markerRecordedEventAttributes?.markerName ?? []);
      expect({ file, patches: markers.filter((name) => name === 'core_patch') }).toEqual({ file, patches: [] });
    }
  });

  const recordedBy = build.versioned ? `a worker polling as ${build.name}, every order PINNED` : 'unversioned workers';
  it(`has histories recorded by ${recordedBy}`, () => {
    for (const { file, history } of histories) {
      const tasks = (history.events ?? []).flatMap((event) => event.workflowTaskCompletedEventAttributes ?? []);
      const builds = new Set(tasks.map((task) => task.deploymentVersion?.buildId ?? 'unversioned'));
      const behaviors = new Set(tasks.map((task) => task.versioningBehavior ?? 0));
      const expected = build.versioned
        ? { builds: [build.name], behaviors: [VersioningBehavior.VERSIONING_BEHAVIOR_PINNED] }
        : { builds: ['unversioned'], behaviors: [VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED] };
      expect({ file, builds: [...builds], behaviors: [...behaviors] }).toEqual({ file, ...expected });
    }
  });

  it('has a history of a cancel that lost to a committed delivery: the retried task follows the row', () => {
    const events = histories.find((h) => h.file === 'cancel-lost-to-delivery.json')?.history.events ?? [];
    expect(events.some((event) => event.workflowTaskFailedEventAttributes)).toBe(true);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
  });

  const mustReplay = [build.name, ...build.replays];
  it(`replays the histories of ${mustReplay.join(' and ')} without nondeterminism, bundled as the image bundles it`, async () => {
    const all = (await Promise.all(mustReplay.map(loadHistories))).flat();
    expect(await replay(await bundleOf(build), all)).toEqual([]);
  });

  if (build.refuses.length > 0) {
    it(`fails on every history of ${build.refuses.join(' and ')}: it changed the workflow incompatibly with them`, async () => {
      const others = (await Promise.all(build.refuses.map(loadHistories))).flat();
      const failures = await replay(await bundleOf(build), others);
      expect(failures.map((f) => f.file).sort()).toEqual(others.map((h) => `${h.build}/${h.file}`).sort());
      for (const { error } of failures) expect(error).toBeInstanceOf(DeterminismViolationError);
    });
  }
});
