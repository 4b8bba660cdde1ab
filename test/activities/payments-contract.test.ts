// The payments worker stays unversioned while orders of several builds run side by side (docs/worker-versioning.md),
// so it must still take what each build's orders send it. Every charge and refund of every recorded build's histories
// (test/replay/builds.ts) is sent again, with its recorded input, to the payments activities of this tree: each is
// accepted and answered as it was then.
import { ApplicationFailure } from '@temporalio/common';
import { createMockGateway } from '../../src/activities/gateway';
import { createPaymentActivities } from '../../src/activities/payments';
import {
  PAYMENT_INVALID_ERROR,
  type OrderPayment,
  type PaymentActivities,
  type PaymentRequest,
} from '../../src/domain';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { decodePayload, loadHistories, type RecordedHistory } from '../support/recorded-histories';
import { recordedBuilds } from '../replay/builds';

type PaymentCall = keyof PaymentActivities;
const paymentCalls: PaymentCall[] = ['processPayment', 'refundPayment'];

/** What a recorded order asked of payments, in the order payments answered it, with the answer it got. */
interface RecordedCall {
  call: PaymentCall;
  input: unknown;
  outcome: { result: Record<string, unknown> } | { failureType: string };
}

async function recordedCalls({ history }: RecordedHistory): Promise<RecordedCall[]> {
  const events = history.events ?? [];
  const scheduled = new Map(
    events.flatMap(({ eventId, activityTaskScheduledEventAttributes: task }) => {
      const call = task?.activityType?.name as PaymentCall | undefined;
      return call && paymentCalls.includes(call)
        ? [[String(eventId), { call, input: task?.input?.payloads?.[0] }]]
        : [];
    }),
  );
  const calls: RecordedCall[] = [];
  for (const { activityTaskCompletedEventAttributes: done, activityTaskFailedEventAttributes: failed } of events) {
    // Calls that were cancelled or timed out got no answer to hold payments to.
    const answered = done ?? failed;
    const asked = answered && scheduled.get(String(answered.scheduledEventId));
    if (!asked) continue;
    const input = await decodePayload(asked.input);
    calls.push({
      call: asked.call,
      input,
      outcome: done
        ? { result: await decodePayload<Record<string, unknown>>(done.result?.payloads?.[0]) }
        : { failureType: failed?.failure?.applicationFailureInfo?.type ?? 'unknown' },
    });
  }
  return calls;
}

let database: TestDatabase;
let payments: PaymentActivities;

beforeAll(async () => {
  database = await createTestDatabase();
  // Recorded with an always-approving gateway, whose `tok_decline` and `tok_invalid` still decline and refuse.
  payments = createPaymentActivities({
    db: database.db,
    gateway: createMockGateway({ approvalRate: 1, failureRate: 0, delayMs: 0 }),
  });
});

afterAll(async () => {
  await database?.drop();
});

describe.each(recordedBuilds)('payments, for the recorded orders of build $name', ({ name }) => {
  it('take every charge and refund they sent and answer each as it was answered then', async () => {
    const histories = await loadHistories(name);
    const mismatches: string[] = [];
    let answered = 0;
    for (const recorded of histories) {
      for (const { call, input, outcome } of await recordedCalls(recorded)) {
        const sent =
          call === 'processPayment'
            ? payments.processPayment(input as PaymentRequest)
            : payments.refundPayment(input as OrderPayment);
        const live = await sent.then(
          (result): { result: Record<string, unknown> } => ({ result: { ...result } }),
          (error: unknown) => ({
            failureType: error instanceof ApplicationFailure ? (error.type ?? '') : String(error),
          }),
        );
        // Payment ids are made per payment row; the shape and the status are the contract.
        const shape = (o: typeof outcome) =>
          'result' in o ? { keys: Object.keys(o.result).sort(), status: o.result.status } : o;
        if (JSON.stringify(shape(live)) !== JSON.stringify(shape(outcome))) {
          mismatches.push(
            `${recorded.file} ${call}: recorded ${JSON.stringify(shape(outcome))}, now ${JSON.stringify(shape(live))}`,
          );
        }
        answered += 1;
      }
    }
    expect(mismatches).toEqual([]);
    // Every path charges once, and the cancelled ones refund: far more calls than histories.
    expect(answered).toBeGreaterThan(histories.length);
  });
});

it('holds failures to the contract too: the recorded calls include a charge refused as PaymentInvalid', async () => {
  const invalid = (await loadHistories('v1')).find((h) => h.file === 'invalid-token.json')!;
  const [charge] = await recordedCalls(invalid);
  expect(charge.outcome).toEqual({ failureType: PAYMENT_INVALID_ERROR });
});
