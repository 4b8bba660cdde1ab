// What the payments worker asked of the mock gateway, read back from its log (see recording-payments-worker.ts).
import { readFile } from 'node:fs/promises';

export interface GatewayCall {
  call: 'charge' | 'refund';
  workflowId: string;
  attempt: number;
  /** The payment id sent with a charge (the key a gateway recognises a repeat by); the reference for a refund. */
  paymentId: string;
  /** `failed`: the gateway answered with an error, so it did not charge; no answer at all: the caller died. */
  outcome: 'requested' | 'confirmed' | 'declined' | 'invalid' | 'failed' | 'refunded';
}

const PREFIX = 'GATEWAY ';

/** Every gateway call in the log, grouped by workflow id. */
export async function readGatewayCalls(logPath: string): Promise<Map<string, GatewayCall[]>> {
  const text = await readFile(logPath, 'utf8');
  const calls = new Map<string, GatewayCall[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(PREFIX)) continue;
    const call = JSON.parse(line.slice(PREFIX.length)) as GatewayCall;
    calls.set(call.workflowId, [...(calls.get(call.workflowId) ?? []), call]);
  }
  return calls;
}
