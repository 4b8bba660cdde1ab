// What the token check and the payload codec add to an order, measured in this process with the product's own code:
// CPU per token verification (every API request makes one), and per payload encrypted and decrypted, times the
// payloads an order's history really holds (one delivered order of the run, counted). Beside the CPU per order
// measured with both on, it says their share; the product has no switch to turn them off for an A/B.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { createAuthenticator } from '../src/api/http/auth';
import { createSigningKey, embeddedAuthOptions, signToken } from '../src/api/auth-keys';
import { orderWorkflowId } from '../src/domain';
import { EncryptionCodec } from '../src/payload-codec';
import { orderBody } from './orders';

export interface SecurityCost {
  tokenVerifyUs: number;
  encodeUsPerPayload: number;
  decodeUsPerPayload: number;
  /** Payloads the sample order's history holds (input, memo, results, update and signal arguments). */
  payloadsPerOrder: number;
  /** Each payload encrypted once and decrypted once, plus one token check for the create. */
  msPerOrder: number;
}

function cpuUsPer(count: number, started: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(started);
  return (user + system) / count;
}

/** Payloads of a history, without the search attributes (plain on purpose) and the SDK's marker bookkeeping. */
function countPayloads(node: unknown, key = '', parent = ''): number {
  if (typeof node !== 'object' || node === null) return 0;
  if (key === 'searchAttributes' || (parent === 'details' && key === 'data')) return 0;
  if ('metadata' in node && 'data' in node) return 1;
  return Object.entries(node).reduce((sum, [childKey, child]) => sum + countPayloads(child, childKey, key), 0);
}

export async function measureSecurityCost(
  client: Client,
  sampleOrderId: string,
  rounds = 2_000,
): Promise<SecurityCost> {
  const key = await createSigningKey();
  const { verify } = createAuthenticator(embeddedAuthOptions(key));
  const token = await signToken(key, { subject: 'bench-operator', role: 'operator' });
  await verify(`Bearer ${token}`);
  let started = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await verify(`Bearer ${token}`);
  const tokenVerifyUs = cpuUsPer(rounds, started);

  const codec = new EncryptionCodec([{ id: 'bench', key: randomBytes(32) }]);
  const payload: Payload = defaultPayloadConverter.toPayload({ order: orderBody('bench-security', 1) });
  const batch = Array.from({ length: rounds }, () => payload);
  started = process.cpuUsage();
  const sealed = await codec.encode(batch);
  const encodeUsPerPayload = cpuUsPer(rounds, started);
  started = process.cpuUsage();
  await codec.decode(sealed);
  const decodeUsPerPayload = cpuUsPer(rounds, started);

  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: orderWorkflowId(sampleOrderId) },
  });
  const payloadsPerOrder = countPayloads(history);
  return {
    tokenVerifyUs,
    encodeUsPerPayload,
    decodeUsPerPayload,
    payloadsPerOrder,
    msPerOrder: (tokenVerifyUs + payloadsPerOrder * (encodeUsPerPayload + decodeUsPerPayload)) / 1000,
  };
}
