// The mock payment gateway: fixed answers for test tokens, random ones for the rest.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config';

export type ChargeOutcome = 'confirmed' | 'declined' | 'invalid';

export interface PaymentGateway {
  /** Charging again under a payment id already charged answers as the first time and charges nothing more. */
  charge(charge: { paymentId: string; token: string; amount: number; currency: string }): Promise<{
    outcome: ChargeOutcome;
    reference: string;
  }>;
  /** Reverses whatever was charged under the payment id: a refund, or a void when nothing went through. */
  refund(refund: { paymentId: string; amount: number }): Promise<void>;
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

/** A number in [0, 1) fixed by the payment id: the mock's "random" decision, the same for every repeat. */
function approvalDraw(paymentId: string): number {
  return createHash('sha256').update(paymentId).digest().readUIntBE(0, 6) / 2 ** 48;
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
    async charge({ paymentId, token }) {
      await call();
      // Like a real gateway, the answer is keyed by the payment id, so a retry after a lost answer repeats it.
      const reference = `gw_${paymentId}`;
      if (token === 'tok_invalid') return { outcome: 'invalid', reference };
      if (token === 'tok_approve') return { outcome: 'confirmed', reference };
      if (token === 'tok_decline') return { outcome: 'declined', reference };
      return { outcome: approvalDraw(paymentId) < approvalRate ? 'confirmed' : 'declined', reference };
    },
    async refund() {
      await call();
    },
  };
}

/** The mock gateway as the payments worker configures it (PAYMENT_* variables). */
export function createConfiguredMockGateway(
  config: Pick<Config, 'PAYMENT_APPROVAL_RATE' | 'PAYMENT_FAILURE_RATE' | 'PAYMENT_GATEWAY_DELAY_MS'>,
): PaymentGateway {
  return createMockGateway({
    approvalRate: config.PAYMENT_APPROVAL_RATE,
    failureRate: config.PAYMENT_FAILURE_RATE,
    delayMs: config.PAYMENT_GATEWAY_DELAY_MS,
  });
}
