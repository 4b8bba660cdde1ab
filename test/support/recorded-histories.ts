// The recorded order histories of each build (test/replay/builds.ts), read and decrypted: the replay tier replays
// them, and the activities tier holds the payments activities to the inputs they carry.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { orderWorkflowId, type OrderWorkflowInput } from '../../src/domain';
import { EncryptionCodec } from '../../src/payload-codec';
import { historiesDir } from '../replay/builds';

/**
 * The histories are encrypted with the fixtures' key (written by record-histories); a newer key encrypts now.
 * Decrypting them proves a key rotation leaves every recorded order readable.
 */
const fixtureKeys = (
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'payload-keys.json'), 'utf8')) as {
    id: string;
    key: string;
  }[]
).map(({ id, key }) => ({ id, key: Buffer.from(key, 'base64') }));
export const rotatedCodec = new EncryptionCodec([{ id: 'key-after-rotation', key: randomBytes(32) }, ...fixtureKeys]);

export interface RecordedHistory {
  build: string;
  file: string;
  /** The recorded order's workflow id, which the workflow checks against the order's id on replay. */
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
  /** The history file as recorded, for checks on its raw payloads. */
  json: unknown;
}

export function historyFiles(build: string): string[] {
  return readdirSync(historiesDir(build))
    .filter((file) => file.endsWith('.json'))
    .sort();
}

export async function decodePayload<T>(payload: Payload | null | undefined): Promise<T> {
  const [decoded] = await rotatedCodec.decode([payload ?? {}]);
  return defaultPayloadConverter.fromPayload<T>(decoded);
}

export async function loadHistory(build: string, file: string): Promise<RecordedHistory> {
  const json: unknown = JSON.parse(readFileSync(join(historiesDir(build), file), 'utf8'));
  const history = historyFromJSON(json);
  const [input] = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  const { order } = await decodePayload<OrderWorkflowInput>(input);
  return { build, file, workflowId: orderWorkflowId(order.id), history, json };
}

export function loadHistories(build: string): Promise<RecordedHistory[]> {
  return Promise.all(historyFiles(build).map((file) => loadHistory(build, file)));
}
