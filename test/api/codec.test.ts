// The payload codec (AES-256-GCM, a key id in each payload) and the codec endpoint the Web UI decodes with.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import express from 'express';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { EncryptionCodec, parsePayloadKeys } from '../../src/payload-codec';
import { configWith, unreachableDependencies, silentLogger, testAuth, tokenFor, type Unreachable } from './harness';

const oldKey = { id: 'key-old', key: randomBytes(32) };
const newKey = { id: 'key-new', key: randomBytes(32) };
const order = {
  paymentToken: 'tok_visa',
  customerId: 'c-42',
  items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
};
const plain = () => defaultPayloadConverter.toPayload(order);
const readable = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('latin1');

describe('EncryptionCodec', () => {
  it('leaves nothing readable and names the key that encrypted each payload', async () => {
    const [sealed] = await new EncryptionCodec([newKey]).encode([plain()]);
    expect(readable(sealed.data)).not.toMatch(/tok_visa|c-42|FUEL-95/);
    expect(readable(sealed.metadata?.[METADATA_ENCODING_KEY])).toBe('binary/encrypted');
    expect(readable(sealed.metadata?.['encryption-key-id'])).toBe('key-new');
  });

  it('decrypts with every key it holds while encrypting with the first: a rotation keeps old payloads readable', async () => {
    const [underOld] = await new EncryptionCodec([oldKey]).encode([plain()]);
    const rotated = new EncryptionCodec([newKey, oldKey]);
    const [decoded] = await rotated.decode([underOld]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(order);
    const [underNew] = await rotated.encode([plain()]);
    expect(readable(underNew.metadata?.['encryption-key-id'])).toBe('key-new');
  });

  it('refuses a payload whose key it does not hold, or one that was tampered with, naming why', async () => {
    const [sealed] = await new EncryptionCodec([oldKey]).encode([plain()]);
    await expect(new EncryptionCodec([newKey]).decode([sealed])).rejects.toThrow(/no payload key key-old/);
    const tampered = { ...sealed, data: Buffer.from(sealed.data!).fill(1, 20, 21) };
    await expect(new EncryptionCodec([oldKey]).decode([tampered])).rejects.toThrow();
  });

  it('passes payloads it did not encrypt through, and reads keys as id:base64 pairs', async () => {
    const [passed] = await new EncryptionCodec([newKey]).decode([plain()]);
    expect(defaultPayloadConverter.fromPayload(passed)).toEqual(order);
    const keys = parsePayloadKeys(`a:${newKey.key.toString('base64')},b:${oldKey.key.toString('base64')}`);
    expect(keys.map((key) => key.id)).toEqual(['a', 'b']);
    expect(() => new EncryptionCodec(parsePayloadKeys('a:c2hvcnQ='))).toThrow(/32 bytes/);
  });
});

describe('the codec endpoint', () => {
  let unreachable: Unreachable;
  let app: express.Express;
  const codec = new EncryptionCodec([newKey]);
  // As the default: the Web UI by either of its host names.
  const uiOrigins = ['http://localhost:8233', 'http://127.0.0.1:8233'];
  const asJson = (payload: ReturnType<typeof plain>) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  });

  beforeAll(async () => {
    unreachable = await unreachableDependencies();
    app = createApp({
      client: unreachable.client,
      db: unreachable.db,
      logger: silentLogger,
      config: configWith({ DELIVERY_DELAY_SECONDS: 1 }),
      auth: testAuth,
      codec: { codec, corsOrigins: uiOrigins },
    });
  });
  afterAll(async () => {
    await unreachable?.close();
  });

  it('decodes for an operator, by header or by the token in the path, and encodes what it decodes', async () => {
    const operator = await tokenFor({ subject: 'ops', role: 'operator' });
    const [sealed] = await codec.encode([plain()]);
    for (const call of [
      request(app).post('/codec/decode').set('Authorization', `Bearer ${operator}`),
      request(app).post(`/codec/t/${operator}/decode`),
    ]) {
      const response = await call
        .set('X-Namespace', 'default')
        .send({ payloads: [asJson(sealed)] })
        .expect(200);
      const [payload] = response.body.payloads as { data: string }[];
      expect(JSON.parse(Buffer.from(payload.data, 'base64').toString())).toEqual(order);
    }
    const encoded = await request(app)
      .post('/codec/encode')
      .set('Authorization', `Bearer ${operator}`)
      .send({ payloads: [asJson(plain())] })
      .expect(200);
    expect(Buffer.from(encoded.body.payloads[0].data, 'base64').toString('latin1')).not.toMatch(/tok_visa/);
  });

  it('decodes nothing without a valid token (401) or for a customer token (403), by header or path', async () => {
    const customer = await tokenFor({ subject: 'c-42', role: 'customer' });
    const [sealed] = await codec.encode([plain()]);
    const body = { payloads: [asJson(sealed)] };
    for (const call of [request(app).post('/codec/decode'), request(app).post('/codec/t/not.a.jwt/decode')]) {
      const refused = await call.send(body).expect(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.body).toMatchObject({ type: '/problems/unauthenticated', status: 401 });
    }
    for (const call of [
      request(app).post('/codec/decode').set('Authorization', `Bearer ${customer}`),
      request(app).post(`/codec/t/${customer}/decode`),
    ]) {
      const refused = await call.send(body).expect(403);
      expect(refused.body).toMatchObject({ type: '/problems/forbidden', status: 403 });
      expect(JSON.stringify(refused.body)).not.toMatch(/FUEL-95|tok_visa/);
    }
  });

  it("answers each Web UI origin's preflight and POST with that one origin, and a foreign origin with none", async () => {
    const operator = await tokenFor({ subject: 'ops', role: 'operator' });
    const [sealed] = await codec.encode([plain()]);
    for (const origin of uiOrigins) {
      const preflight = await request(app)
        .options(`/codec/t/${operator}/decode`)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type,x-namespace');
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      const post = await request(app)
        .post(`/codec/t/${operator}/decode`)
        .set('Origin', origin)
        .send({ payloads: [asJson(sealed)] })
        .expect(200);
      expect(post.headers['access-control-allow-origin']).toBe(origin);
      expect(post.headers.vary).toMatch(/Origin/);
    }
    const foreign = await request(app)
      .options('/codec/decode')
      .set('Origin', 'http://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CODEC_CORS_ORIGIN', () => {
  it('is a comma-separated list of origins, the local Web UI by both names by default', () => {
    expect(loadConfig({}).CODEC_CORS_ORIGIN).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(loadConfig({ CODEC_CORS_ORIGIN: 'https://ui.example, http://10.0.0.5:8080' }).CODEC_CORS_ORIGIN).toEqual([
      'https://ui.example',
      'http://10.0.0.5:8080',
    ]);
    expect(() => loadConfig({ CODEC_CORS_ORIGIN: 'https://ui.example/namespaces' })).toThrow(/CODEC_CORS_ORIGIN/);
    expect(() => loadConfig({ CODEC_CORS_ORIGIN: 'ui.example' })).toThrow(/CODEC_CORS_ORIGIN/);
  });
});
