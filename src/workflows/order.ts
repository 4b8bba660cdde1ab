// One order's life: record it, charge it, deliver it after a durable timer, or cancel it and refund.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
// Not from '../domain': its index brings in zod, which the sandbox would evaluate once per workflow.
import {
  assertTransition,
  cancelReasons,
  isFinal,
  orderAmount,
  type OrderState,
  type OrderView,
  type PaymentView,
} from '../domain/order';
import {
  cancelSignal,
  customerIdSearchAttribute,
  orderRecordedUpdate,
  orderStateSearchAttribute,
  orderWorkflowId,
  PAYMENT_INVALID_ERROR,
  PAYMENTS_TASK_QUEUE,
  statusQuery,
  type CancelRejectionRecord,
  type OrderActivities,
  type OrderWorkflowInput,
  type PaymentActivities,
  type RecordedAt,
  type RefundRequest,
} from '../domain/contract';
import { checkOrder, uuidPattern } from '../domain/order-rules';

// No maximum attempts: a database or gateway outage is waited out, never turned into a lost order.
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

const orders = proxyActivities<OrderActivities>({ startToCloseTimeout: '15s', retry });
// A local activity retries inside the workflow task, which the worker extends every ~8 s with new history events: a
// few tries, then writeLocallyFirst hands the write to an ordinary activity, which can wait out any outage.
const localOrders = proxyLocalActivities<OrderActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 3 },
});

/**
 * Recording the order and its rejected cancels run as local activities, in the orders worker that runs the workflow:
 * no task queue round trip, fewer history events. A local write commits before its workflow task does, so it may run
 * again when that task is retried (a crash, or a signal that came meanwhile); the writes are idempotent and answer the
 * time first recorded, so the order's view stays equal to its rows. Neither write depends on what a signal decides.
 *
 * State transitions stay ordinary activities on purpose: their decision must be committed before their write. As a
 * local activity, a delivery written in a task that a cancel signal then forces to retry is re-decided as a cancel
 * (the retried task sees the timer and the signal together, signal first), leaving the row delivered and the
 * workflow refusing it. test/workflow/order-workflow.test.ts holds that race.
 *
 * Orders whose history began before this change keep the activities they scheduled; patched() tells them apart.
 */
const LOCAL_ORDER_WRITES_PATCH = 'local-order-writes';

/** Rejected cancels are written even when the workflow itself has been cancelled. */
const REJECTIONS_OUTLIVE_CANCEL_PATCH = 'rejections-outlive-cancel';

/** The delivery timer starts with the decision to confirm, not after its write (bench/README.md, timer accuracy). */
const DELIVERY_TIMER_AT_DECISION_PATCH = 'delivery-timer-at-decision';

/** A write as a local activity, or, once that has failed for a while (a database outage), as an ordinary one. */
async function writeLocallyFirst<T>(write: (store: OrderActivities) => Promise<T>): Promise<T> {
  try {
    return await write(localOrders);
  } catch (error) {
    if (!isWorthRetrying(error)) throw error;
    return write(orders);
  }
}

/** Histories from before the writes answered a time hold no result; the time the workflow chose stands then. */
const storedAt = (answer: RecordedAt | undefined, chosen: string): string => answer?.at ?? chosen;

const payments = proxyActivities<PaymentActivities>({
  taskQueue: PAYMENTS_TASK_QUEUE,
  startToCloseTimeout: '30s',
  retry: { ...retry, nonRetryableErrorTypes: [PAYMENT_INVALID_ERROR] },
});

type PaymentOutcome = { kind: 'charged'; payment: PaymentView } | { kind: 'invalid' } | { kind: 'cancel_requested' };

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const { order, deliveryDelaySeconds } = validateInput(input);
  const now = () => new Date(Date.now()).toISOString();
  const view: OrderView = {
    id: order.id,
    customerId: order.customerId,
    currency: order.currency,
    items: order.items,
    amount: orderAmount(order.items),
    state: 'created',
    cancelReason: null,
    payment: { status: 'pending', id: null },
    createdAt: now(),
    updatedAt: now(),
    history: [],
  };
  // The state the order is moving to; it leads view.state while the move is being recorded.
  let decided: OrderState = 'created';
  let recorded = false;
  let cancelRequest: { reason: string } | undefined;
  const rejectedCancels: CancelRejectionRecord[] = [];
  // Counts every rejected cancel, also those already written and taken off the list: it names each one's row.
  let rejectionsSeen = 0;
  // Read through a function: the signal handler changes it between awaits, which type narrowing cannot see.
  const pendingCancel = () => cancelRequest;

  setHandler(statusQuery, () => view);
  setHandler(orderRecordedUpdate, async () => {
    await condition(() => recorded);
    return { order: view, requestFingerprint: order.requestFingerprint ?? null };
  });
  setHandler(cancelSignal, (request) => {
    const reason = request?.reason ?? cancelReasons.customerRequest;
    if (isFinal(decided) || cancelRequest) {
      rejectedCancels.push({
        orderId: order.id,
        sequence: ++rejectionsSeen,
        state: decided,
        reason,
        at: now(),
      });
    } else {
      cancelRequest = { reason };
    }
  });

  // Cancelling the workflow itself (say from the Web UI) is a cancel request like the signal, not an abandoned order.
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequest ??= { reason: cancelReasons.workflowCancelled };
  });

  const createdRecord = {
    order: view,
    requestFingerprint: order.requestFingerprint ?? null,
    idempotencyKey: order.idempotencyKey ?? null,
  };
  // A cancel that comes while the order is being recorded must not leave its row behind: the story handles it.
  const created = patched(LOCAL_ORDER_WRITES_PATCH)
    ? await CancellationScope.nonCancellable(() =>
        writeLocallyFirst((store) => store.recordOrderCreated(createdRecord)),
      )
    : await orders.recordOrderCreated(createdRecord);
  view.createdAt = view.updatedAt = storedAt(created, view.createdAt);
  view.history.push({ event: 'transition', state: 'created', at: view.createdAt, reason: null });
  recorded = true;
  upsertSearchAttributes([
    { key: orderStateSearchAttribute, value: 'created' },
    { key: customerIdSearchAttribute, value: order.customerId },
  ]);

  async function moveTo(to: OrderState, reason: string | null, payment: PaymentView): Promise<void> {
    assertTransition(view.state, to);
    decided = to;
    const chosen = now();
    const answer = await orders.recordTransition({
      orderId: order.id,
      from: view.state,
      to,
      reason,
      payment,
      at: chosen,
    });
    const at = storedAt(answer, chosen);
    Object.assign(view, { state: to, payment, updatedAt: at, cancelReason: to === 'cancelled' ? reason : null });
    view.history.push({ event: 'transition', state: to, at, reason });
    upsertSearchAttributes([{ key: orderStateSearchAttribute, value: to }]);
  }

  const refundRequest: RefundRequest = {
    orderId: order.id,
    customerId: order.customerId,
    amount: view.amount,
    currency: order.currency,
  };

  // Cleanup after a cancel must finish even if the workflow itself is being cancelled.
  async function refundAndCancel(reason: string): Promise<void> {
    const refund = await CancellationScope.nonCancellable(() => payments.refundPayment(refundRequest));
    await moveTo('cancelled', reason, { status: refund.status, id: refund.paymentId });
  }

  async function settlePayment(): Promise<PaymentOutcome> {
    const scope = new CancellationScope();
    const charge = scope
      .run(() => payments.processPayment({ ...refundRequest, paymentToken: order.paymentToken }))
      .then(
        (result): PaymentOutcome => ({ kind: 'charged', payment: { status: result.status, id: result.paymentId } }),
        (error: unknown): PaymentOutcome => {
          if (isPaymentInvalid(error)) return { kind: 'invalid' };
          if (isCancellation(error) && cancelRequest) return { kind: 'cancel_requested' };
          throw error;
        },
      );
    const cancelled = condition(() => cancelRequest !== undefined).then((): PaymentOutcome => {
      // A charge still retrying is stopped; the refund that follows voids the payment or refunds a charge that landed.
      scope.cancel();
      return { kind: 'cancel_requested' };
    });
    return Promise.race([charge, cancelled]);
  }

  await CancellationScope.nonCancellable(async () => {
    const payment = await settlePayment();
    if (payment.kind === 'invalid') {
      await moveTo('cancelled', cancelReasons.paymentInvalid, { status: 'invalid', id: null });
    } else if (payment.kind === 'cancel_requested' || pendingCancel()) {
      await refundAndCancel(pendingCancel()?.reason ?? cancelReasons.customerRequest);
    } else if (payment.payment.status !== 'confirmed') {
      await moveTo('cancelled', cancelReasons.paymentDeclined, payment.payment);
    } else {
      const deliveryDue = () => condition(() => pendingCancel() !== undefined, deliveryDelaySeconds * 1000);
      // The delay runs from the decision to confirm, in the same workflow task, not from when `confirmed` is written:
      // waiting for the write was most of a delivery's lateness under load. Orders from before keep their order.
      const dueFromDecision = patched(DELIVERY_TIMER_AT_DECISION_PATCH) ? deliveryDue() : undefined;
      await moveTo('confirmed', null, payment.payment);
      await (dueFromDecision ?? deliveryDue());
      const cancel = pendingCancel();
      if (cancel) await refundAndCancel(cancel.reason);
      else await moveTo('delivered', null, payment.payment);
    }
  });

  // Cancels that came too late change nothing, but the order's history says they came.
  while (rejectedCancels.length > 0) {
    const rejection = rejectedCancels.shift()!;
    const write = () =>
      patched(LOCAL_ORDER_WRITES_PATCH)
        ? writeLocallyFirst((store) => store.recordCancelRejected(rejection))
        : orders.recordCancelRejected(rejection);
    // A workflow cancelled from outside still writes the cancels it rejected (before this patch it ended Cancelled).
    const stored = patched(REJECTIONS_OUTLIVE_CANCEL_PATCH)
      ? await CancellationScope.nonCancellable(write)
      : await write();
    const at = storedAt(stored, rejection.at);
    view.history.push({ event: 'cancel_rejected', state: rejection.state, at, reason: rejection.reason });
  }
  return view;
}

function validateInput(input: OrderWorkflowInput): OrderWorkflowInput {
  const given = typeof input?.order === 'object' && input.order !== null ? input.order : {};
  const checked = checkOrder(given as unknown as Record<string, unknown>);
  const problems = checked.problems.map((problem) => `order.${problem}`);
  const id: unknown = input?.order?.id;
  if (typeof id !== 'string' || !uuidPattern.test(id) || orderWorkflowId(id) !== workflowInfo().workflowId) {
    problems.push("order.id: must be a UUID, the <uuid> of this workflow's id order-<uuid>");
  }
  const delay = input?.deliveryDelaySeconds;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    problems.push('deliveryDelaySeconds: must be a number of seconds, 0 or more');
  }
  if (!checked.order || problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid order workflow input: ${problems.join('; ')}`, 'InvalidOrderInput');
  }
  return { order: { ...input.order, ...checked.order }, deliveryDelaySeconds: delay };
}

/** A write that failed transiently or timed out. A failed local activity reaches the workflow as the activity's own
 * failure (seen with SDK 1.24), an ordinary one wrapped in ActivityFailure: both are handled. */
function isWorthRetrying(error: unknown): boolean {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  if (failure instanceof ApplicationFailure) return failure.nonRetryable !== true;
  return failure instanceof TimeoutFailure;
}

function isPaymentInvalid(error: unknown): boolean {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === PAYMENT_INVALID_ERROR
  );
}
