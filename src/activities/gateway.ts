// The mock payment gateway: fixed answers for test tokens, random ones for the rest.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export type ChargeOutcome = 'confirmed' | 'declined' | 'invalid';

export interface PaymentGateway {
  charge(charge: { paymentId: string; token: string; amount: number; currency: string }): Promise<{
    outcome: ChargeOutcome;
    reference: string;
  }>;
  refund(refund: { reference: string; amount: number }): Promise<void>;
}

export class GatewayUnavailableError extends Error {
  override name = 'GatewayUnavailableError';
}

export interface MockGatewayOptions {
  approvalRate: number;
  /** Share of calls that fail as if the gateway were down, so retries can be seen. */
  failureRate: number;
  /** Latency of each call; widens the window in which a crash can hit mid-payment. */
  delayMs: number;
  random?: () => number;
}

export function createMockGateway({
  approvalRate,
  failureRate,
  delayMs,
  random = Math.random,
}: MockGatewayOptions): PaymentGateway {
  async function call(): Promise<void> {
    if (delayMs > 0) await sleep(delayMs);
    if (random() < failureRate) throw new GatewayUnavailableError('payment gateway unavailable (simulated)');
  }
  return {
    async charge({ token }) {
      await call();
      const reference = `gw_${randomUUID()}`;
      if (token === 'tok_invalid') return { outcome: 'invalid', reference };
      if (token === 'tok_approve') return { outcome: 'confirmed', reference };
      if (token === 'tok_decline') return { outcome: 'declined', reference };
      return { outcome: random() < approvalRate ? 'confirmed' : 'declined', reference };
    },
    async refund() {
      await call();
    },
  };
}
