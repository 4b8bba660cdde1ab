// Temporal's store holds no readable order data: every payload the API and the workers send is encrypted with
// AES-256-GCM by this codec, with the id of the key in each payload, so keys can rotate. The first key encrypts;
// every key decrypts. Search attributes are not payloads the codec sees: they stay plain, so lists can filter.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { readOrCreateSecret } from './secret-files';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const text = new TextDecoder();

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new Error('the payload codec needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`payload key ${id} must be 32 bytes, not ${key.length}`);
    }
    this.byId = new Map(keys.map(({ id, key }) => [id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || text.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const idBytes = payload.metadata?.[KEY_ID_METADATA];
      const id = idBytes ? text.decode(idBytes) : '(none)';
      const key = this.byId.get(id);
      if (!key) throw new Error(`no payload key ${id} to decrypt with (PAYLOAD_KEYS or PAYLOAD_KEYS_FILE)`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** `id:base64,id:base64`, the first one encrypting. */
export function parsePayloadKeys(value: string): PayloadKey[] {
  return value.split(',').map((entry) => {
    const [id, material, ...rest] = entry.trim().split(':');
    if (!id || !material || rest.length > 0) throw new Error('each payload key is <id>:<base64 of 32 bytes>');
    return { id, key: Buffer.from(material, 'base64') };
  });
}

/** The keys kept in `path` (`[{ "id", "key" }]`, base64), one made there first (mode 0600) when it is missing. */
export async function loadOrCreatePayloadKeys(path: string): Promise<PayloadKey[]> {
  const stored = await readOrCreateSecret(path, async () => [
    { id: `key-${new Date().toISOString().slice(0, 10)}`, key: randomBytes(32).toString('base64') },
  ]);
  return stored.map(({ id, key }) => ({ id, key: Buffer.from(key, 'base64') }));
}

/** The codec as configured: PAYLOAD_KEYS, else the key file (made under .data/ by default). */
export async function configuredPayloadCodec(config: {
  PAYLOAD_KEYS?: string;
  PAYLOAD_KEYS_FILE: string;
}): Promise<EncryptionCodec> {
  const keys = config.PAYLOAD_KEYS
    ? parsePayloadKeys(config.PAYLOAD_KEYS)
    : await loadOrCreatePayloadKeys(config.PAYLOAD_KEYS_FILE);
  return new EncryptionCodec(keys);
}
