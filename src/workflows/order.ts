// One order's life: record it, settle its payment, then deliver it after a durable timer or cancel it and refund.
//
// The order's row is the commit point of every decision. Each decision is written, guarded by the state it leaves,
// before its side effect runs; the writes are local activities, which commit before their workflow task does. When a
// task is retried (a crash, or a cancel that came meanwhile) and decides otherwise, the row answers with what was
// committed first and the story follows it: a refund runs only once the row says cancelled, and a cancel that lost to
// a committed delivery is recorded as rejected. docs/decisions.md says why.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  allHandlersFinished,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import {
  acceptedOrder,
  assertTransition,
  cancelReasons,
  isFinal,
  mayHaveCharged,
  type OrderState,
  type OrderView,
  type PaymentView,
  cancelSignal,
  cancelUpdate,
  orderStateSearchAttribute,
  orderWorkflowId,
  PAYMENT_INVALID_ERROR,
  PAYMENTS_TASK_QUEUE,
  statusQuery,
  type CancelDecision,
  type CancelRejectionRecord,
  type CancelRequest,
  type CommittedDecision,
  type OrderActivities,
  type OrderWorkflowInput,
  type PaymentActivities,
  type RefundRequest,
  checkOrder,
  uuidPattern,
} from '../domain';

// No maximum attempts: a database or gateway outage is waited out, never turned into a lost order.
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

// The order's rows are written in this worker, without a task queue round trip. A retry whose backoff is past
// localRetryThreshold waits on a timer rather than inside a held-open workflow task, so a database outage costs a task
// per retry instead of a task heartbeat every ~8 s.
const store = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '10s', localRetryThreshold: '4s', retry });

// The payment activities heartbeat during each gateway call: a payments worker that dies is noticed in 2 s, not 30.
const payments = proxyActivities<PaymentActivities>({
  taskQueue: PAYMENTS_TASK_QUEUE,
  startToCloseTimeout: '30s',
  heartbeatTimeout: '2s',
  retry: { ...retry, nonRetryableErrorTypes: [PAYMENT_INVALID_ERROR] },
});

type PaymentOutcome =
  | { kind: 'charged'; payment: PaymentView }
  | { kind: 'invalid' }
  | { kind: 'cancel_requested'; reason: string; requestedBy: string | null };

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const { order, deliveryDelaySeconds } = validateInput(input);
  const createdAt = order.createdAt ?? workflowInfo().runStartTime.toISOString();
  const view: OrderView = acceptedOrder({ ...order, createdAt });
  const now = () => new Date(Date.now()).toISOString();

  // The cancel the story acts on: the first one that came while the order could still be cancelled.
  let cancelRequest: { reason: string; requestedBy: string | null } | undefined;
  // Read through a function: handlers change it between awaits, which type narrowing cannot see.
  const pendingCancel = () => cancelRequest;
  const decisions = new Map<string, Promise<CancelDecision>>();
  // Requests that wait for the row's final word; those that then find the order delivered are recorded as rejected.
  const undecided = new Map<string, CancelRejectionRecord>();
  const rejectedCancels: CancelRejectionRecord[] = [];

  function settleCancels(): void {
    if (!isFinal(view.state)) return;
    for (const request of undecided.values()) {
      if (view.state === 'delivered') rejectedCancels.push({ ...request, state: view.state, at: now() });
    }
    undecided.clear();
  }

  /** Every cancel, however it came, is answered from the row's final word on the order. */
  function decideCancel({ reason = cancelReasons.customerRequest, requestId = uuid4(), requestedBy }: CancelRequest) {
    const known = decisions.get(requestId);
    if (known) return known;
    const by = requestedBy ?? null;
    if (!isFinal(view.state)) cancelRequest ??= { reason, requestedBy: by };
    undecided.set(requestId, { orderId: order.id, requestId, state: view.state, reason, at: now(), requestedBy: by });
    settleCancels();
    const decision = CancellationScope.nonCancellable(async (): Promise<CancelDecision> => {
      await condition(() => isFinal(view.state));
      return { status: view.state === 'cancelled' ? 'accepted' : 'rejected', order: view };
    });
    decisions.set(requestId, decision);
    return decision;
  }

  setHandler(statusQuery, () => view);
  setHandler(cancelUpdate, (request) => decideCancel(request ?? {}), { validator: validateCancelRequest });
  setHandler(cancelSignal, (request) => void decideCancel(request ?? {}));
  // Cancelling the workflow itself (say from the Web UI) is a cancel request like the others, not an abandoned order.
  CancellationScope.current().cancelRequested.catch(
    () => void decideCancel({ reason: cancelReasons.workflowCancelled }),
  );

  /** Writes a decision and takes the row's answer, which is this decision unless an earlier try committed another. */
  async function commit(
    to: OrderState,
    reason: string | null,
    payment: PaymentView,
    requestedBy: string | null = null,
  ): Promise<void> {
    assertTransition(view.state, to);
    const from = view.state;
    adopt(await store.recordTransition({ orderId: order.id, from, to, reason, payment, at: now(), requestedBy }));
  }

  function adopt(row: CommittedDecision): void {
    const { state, cancelReason, payment, updatedAt, transitions } = row;
    Object.assign(view, { state, cancelReason, payment, updatedAt });
    view.history.push(...transitions);
    upsertSearchAttributes([{ key: orderStateSearchAttribute, value: state }]);
    settleCancels();
  }

  const refundRequest: RefundRequest = {
    orderId: order.id,
    customerId: order.customerId,
    amount: view.amount,
    currency: order.currency,
  };

  async function record(): Promise<void> {
    const { at } = await store.recordOrderCreated({
      order: view,
      requestFingerprint: order.requestFingerprint ?? null,
      idempotencyKey: order.idempotencyKey ?? null,
    });
    view.createdAt = view.updatedAt = view.history[0].at = at;
  }

  /** The charge, unless a cancel comes first: a charge still retrying is then stopped, and the refund voids it. */
  async function settlePayment(): Promise<PaymentOutcome> {
    const scope = new CancellationScope();
    const charge = scope
      .run(() => payments.processPayment({ ...refundRequest, paymentToken: order.paymentToken }))
      .then(
        (result): PaymentOutcome => ({ kind: 'charged', payment: { status: result.status, id: result.paymentId } }),
        (error: unknown): PaymentOutcome => {
          if (isPaymentInvalid(error)) return { kind: 'invalid' };
          const cancel = pendingCancel();
          if (isCancellation(error) && cancel) return { kind: 'cancel_requested', ...cancel };
          throw error;
        },
      );
    const cancelled = condition(() => pendingCancel() !== undefined).then((): PaymentOutcome => {
      scope.cancel();
      return { kind: 'cancel_requested', ...pendingCancel()! };
    });
    return Promise.race([charge, cancelled]);
  }

  async function decideOnPayment(outcome: PaymentOutcome): Promise<void> {
    // A cancel that came in the same task as the charge's confirmation wins; the refund then reverses the charge.
    const cancel = pendingCancel();
    if (outcome.kind === 'invalid') {
      await commit('cancelled', cancelReasons.paymentInvalid, { status: 'invalid', id: null });
    } else if (outcome.kind === 'cancel_requested') {
      await commit('cancelled', outcome.reason, view.payment, outcome.requestedBy);
    } else if (outcome.payment.status !== 'confirmed') {
      await commit('cancelled', cancelReasons.paymentDeclined, outcome.payment);
    } else if (cancel) {
      await commit('cancelled', cancel.reason, outcome.payment, cancel.requestedBy);
    } else {
      await commit('confirmed', null, outcome.payment);
    }
  }

  /** The durable delivery timer, abandoned by a cancel. */
  async function deliverOrCancel(): Promise<void> {
    await condition(() => pendingCancel() !== undefined, deliveryDelaySeconds * 1000);
    const cancel = pendingCancel();
    if (cancel) await commit('cancelled', cancel.reason, view.payment, cancel.requestedBy);
    else await commit('delivered', null, view.payment);
  }

  /** Runs only once the row says cancelled: reverses whatever the charge may have taken. */
  async function refund(): Promise<void> {
    const refunded = await payments.refundPayment(refundRequest);
    const payment = { status: refunded.status, id: refunded.paymentId };
    const { at } = await store.recordPaymentSettled({ orderId: order.id, payment, at: now() });
    Object.assign(view, { payment, updatedAt: at });
  }

  /** Cancels that came too late change nothing, but the order's history says they came. */
  async function writeRejectedCancels(): Promise<void> {
    for (;;) {
      await condition(allHandlersFinished);
      const rejection = rejectedCancels.shift();
      if (!rejection) return;
      const { at } = await store.recordCancelRejected(rejection);
      const { state, reason, requestedBy: by } = rejection;
      view.history.push({ event: 'cancel_rejected', state, at, reason, by });
    }
  }

  // Cleanup after a cancel must finish even when the workflow itself is being cancelled: the story cannot be cut short.
  await CancellationScope.nonCancellable(async () => {
    await record();
    await decideOnPayment(await settlePayment());
    if (view.state === 'confirmed') await deliverOrCancel();
    if (view.state === 'cancelled' && mayHaveCharged(view)) await refund();
    await writeRejectedCancels();
  });
  return view;
}

function validateCancelRequest(request?: CancelRequest): void {
  const { reason, requestId, requestedBy } = request ?? {};
  if (reason !== undefined && (typeof reason !== 'string' || reason.length < 1 || reason.length > 200)) {
    throw new Error('reason: must be 1–200 characters');
  }
  if (requestId !== undefined && (typeof requestId !== 'string' || requestId.length < 1 || requestId.length > 100)) {
    throw new Error('requestId: must be 1–100 characters');
  }
  if (requestedBy !== undefined && (typeof requestedBy !== 'string' || requestedBy.length > 64)) {
    throw new Error('requestedBy: must be at most 64 characters');
  }
}

function validateInput(input: OrderWorkflowInput): OrderWorkflowInput {
  const given = typeof input?.order === 'object' && input.order !== null ? input.order : {};
  const checked = checkOrder(given as unknown as Record<string, unknown>);
  const problems = checked.problems.map((problem) => `order.${problem}`);
  const id: unknown = input?.order?.id;
  if (typeof id !== 'string' || !uuidPattern.test(id) || orderWorkflowId(id) !== workflowInfo().workflowId) {
    problems.push("order.id: must be a UUID, the <uuid> of this workflow's id order-<uuid>");
  }
  const createdAt: unknown = input?.order?.createdAt;
  if (createdAt !== undefined && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))) {
    problems.push('order.createdAt: must be an ISO 8601 time');
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

function isPaymentInvalid(error: unknown): boolean {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === PAYMENT_INVALID_ERROR
  );
}
