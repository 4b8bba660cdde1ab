// The consistency audit every scenario ends with: for each order, the API's view, the workflow's `status` query and
// the Postgres rows agree; its history is a legal path with no repeated transition; and its one payment is settled
// the way its final state demands (refunded iff cancelled after a confirmed payment).
import { isDeepStrictEqual } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Db } from '../../src/db/knex';
import {
  canTransition,
  isFinal,
  orderWorkflowId,
  statusQuery,
  type OrderState,
  type OrderView,
  type PaymentStatus,
} from '../../src/domain';
import { eventually } from '../support/poll';
import type { ApiClient } from './api-client';
import type { GatewayCall } from './gateway-calls';
import type { Stack } from './stack';
import { mapConcurrent } from './workload';

interface OrderRow {
  id: string;
  customer_id: string;
  state: OrderState;
  amount: number;
  cancel_reason: string | null;
  payment_status: PaymentStatus;
  payment_id: string | null;
}

interface EventRow {
  order_id: string;
  event: 'transition' | 'cancel_rejected';
  from_state: OrderState | null;
  to_state: OrderState;
}

interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: PaymentStatus;
  amount: number;
  gateway_reference: string | null;
  refunded_at: Date | null;
}

export interface AuditScope {
  api: ApiClient;
  client: Client;
  db: Db;
  /** The orders the scenario's clients were told exist (201 answers). */
  orderIds: readonly string[];
  /** Every row of these customers is audited too: one nobody was told about is an unexpected (duplicate) order. */
  customerIds: readonly string[];
  /** The payments worker's calls to the gateway, by workflow id. */
  gatewayCalls: Map<string, GatewayCall[]>;
  /** How long workflows may still take to close (cancel rejections are recorded after the final state). */
  settleTimeoutMs?: number;
}

export interface AuditReport {
  orders: number;
  finalStates: Partial<Record<OrderState, number>>;
  cancelReasons: Partial<Record<string, number>>;
  payments: Partial<Record<PaymentStatus, number>>;
  refunds: number;
  /** Charges the gateway confirmed, and charge requests sent to it (retries included). */
  gatewayCharges: number;
  gatewayChargeRequests: number;
  cancelRejections: number;
  /** Orders a client was given that Postgres does not have. */
  lost: string[];
  /** Rows of the scenario's customers that no client was given: a second order from one request. */
  unexpected: string[];
  /** Something that happened twice: a repeated transition or event. */
  duplicates: string[];
  /** Every other broken rule, one line each, naming the order. */
  problems: string[];
}

/** Everything wrong, one line each; empty when the audit passed. */
export function findings(report: AuditReport): string[] {
  return [
    ...report.lost.map((id) => `lost: order ${id} was answered 201 but is not in Postgres`),
    ...report.unexpected.map((id) => `unexpected: order ${id} exists but no client was given it`),
    ...report.duplicates.map((line) => `duplicate: ${line}`),
    ...report.problems,
  ];
}

const count = <K extends string>(keys: K[]) =>
  keys.reduce<Partial<Record<K, number>>>((acc, key) => ({ ...acc, [key]: (acc[key] ?? 0) + 1 }), {});

/** Differences between two order views, by field. */
function viewDifferences(a: OrderView, b: OrderView): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof OrderView)[]);
  return [...keys]
    .filter((key) => !isDeepStrictEqual(a[key], b[key]))
    .map((key) => `${key}: ${JSON.stringify(a[key])} vs ${JSON.stringify(b[key])}`);
}

/** The order's transition history must be created → … → its state, each step legal, none repeated. */
function checkHistory(row: OrderRow, events: EventRow[], report: AuditReport): void {
  const transitions = events.filter((e) => e.event === 'transition');
  const seen = new Set<string>();
  let at: OrderState | null = null;
  for (const { from_state: from, to_state: to } of transitions) {
    const step = `${from ?? '(none)'}->${to}`;
    if (seen.has(step)) report.duplicates.push(`order ${row.id} has transition ${step} twice`);
    seen.add(step);
    const legal = from === null ? at === null && to === 'created' : from === at && canTransition(from, to);
    if (!legal) report.problems.push(`order ${row.id}: illegal step ${step} after ${at ?? '(nothing)'}`);
    at = to;
  }
  if (at !== row.state) report.problems.push(`order ${row.id}: history ends in ${at} but the row says ${row.state}`);
  for (const e of events.filter((e) => e.event === 'cancel_rejected' && e.from_state !== e.to_state)) {
    report.problems.push(`order ${row.id}: cancel_rejected event changes state ${e.from_state} -> ${e.to_state}`);
  }
}

/** One payment per order, mirrored on the order, settled as the order's final state demands. */
function checkPayment(row: OrderRow, events: EventRow[], payments: PaymentRow[], report: AuditReport): void {
  const problem = (what: string) => void report.problems.push(`order ${row.id} (${row.state}): ${what}`);
  if (payments.length !== 1) return problem(`${payments.length} payment rows, expected exactly one`);
  const [payment] = payments;
  if (payment.amount !== row.amount) problem(`payment amount ${payment.amount} but order amount ${row.amount}`);
  if (payment.status !== row.payment_status || payment.payment_id !== row.payment_id) {
    problem(
      `order records payment ${row.payment_id}/${row.payment_status}, payments has ${payment.payment_id}/${payment.status}`,
    );
  }
  const wasConfirmed = events.some((e) => e.event === 'transition' && e.to_state === 'confirmed');
  if (row.state === 'delivered' && payment.status !== 'confirmed') problem(`delivered with payment ${payment.status}`);
  if (row.state === 'cancelled' && wasConfirmed && payment.status !== 'refunded') {
    problem(`cancelled after a confirmed payment, but the payment is ${payment.status}, not refunded`);
  }
  if (payment.status === 'refunded' && row.state !== 'cancelled') problem('refunded but not cancelled');
  if (payment.status === 'refunded' && payment.refunded_at === null) problem('refunded without refunded_at');
  if (payment.status === 'voided' && payment.gateway_reference !== null) problem('voided, yet it reached the gateway');
  if (row.cancel_reason === 'payment_declined' && payment.status !== 'declined') {
    problem(`cancelled as payment_declined with payment ${payment.status}`);
  }
}

/**
 * What the gateway was asked. A charge that went through, or one whose caller died before the answer, may have taken
 * money; a retry of it under another payment id (the key a gateway recognises a repeat by) may take it again.
 */
function checkGatewayCalls(
  row: OrderRow,
  payment: PaymentRow | undefined,
  calls: GatewayCall[],
  report: AuditReport,
): void {
  const charges = calls.filter((c) => c.call === 'charge');
  const answers = new Map<string, GatewayCall['outcome']>(
    charges.filter((c) => c.outcome !== 'requested').map((c) => [c.paymentId, c.outcome]),
  );
  const chargeIds = [...new Set(charges.map((c) => c.paymentId))];
  const mayHaveCharged = chargeIds.filter((id) => !answers.has(id) || answers.get(id) === 'confirmed');
  const confirmed = charges.filter((c) => c.outcome === 'confirmed').length;
  if (confirmed > 1) report.duplicates.push(`order ${row.id}: the gateway confirmed ${confirmed} charges`);
  else if (mayHaveCharged.length > 1) {
    const unanswered = mayHaveCharged.filter((id) => !answers.has(id));
    report.duplicates.push(
      `order ${row.id}: charged under ${mayHaveCharged.length} payment ids (${mayHaveCharged.join(', ')}); ` +
        `${unanswered.join(', ')} got no answer (its caller died), then a retry charged under a new id`,
    );
  }
  const refundReferences = new Set(calls.filter((c) => c.call === 'refund').map((c) => c.paymentId));
  if (refundReferences.size > 1) report.duplicates.push(`order ${row.id}: refunds of ${refundReferences.size} charges`);
  const problem = (what: string) => void report.problems.push(`order ${row.id} (${row.state}): ${what}`);
  if (payment && chargeIds.length > 0 && !chargeIds.includes(payment.payment_id)) {
    problem(`payment ${payment.payment_id} is not one the gateway was asked to charge (${chargeIds.join(', ')})`);
  }
  if (confirmed > 0 && payment && !['confirmed', 'refunded'].includes(payment.status)) {
    problem(`the gateway confirmed a charge, but the payment is ${payment.status}: money taken and not refunded`);
  }
  const refunded = calls.some((c) => c.call === 'refund' && c.outcome === 'refunded');
  if (refunded !== (payment?.status === 'refunded')) {
    problem(`gateway refund ${refunded ? 'done' : 'never done'}, payment ${payment?.status ?? 'missing'}`);
  }
}

async function checkViews(scope: AuditScope, row: OrderRow, report: AuditReport): Promise<void> {
  const problem = (what: string) => void report.problems.push(`order ${row.id}: ${what}`);
  const handle = scope.client.workflow.getHandle(orderWorkflowId(row.id));
  const settleTimeoutMs = scope.settleTimeoutMs ?? 30_000;
  const closed = await eventually(
    `workflow of order ${row.id} to close`,
    async () => {
      const { status } = await handle.describe();
      return status.name === 'RUNNING' ? undefined : status.name;
    },
    { timeoutMs: settleTimeoutMs, intervalMs: 200 },
  ).catch((error: Error) => error.message);
  if (closed !== 'COMPLETED') return problem(`workflow is not completed: ${closed}`);
  const [apiView, workflowView, statusAnswer] = await Promise.all([
    scope.api.getOrder(row.id),
    handle.query(statusQuery),
    scope.api.send(`/orders/${row.id}/status`),
  ]);
  if (!apiView) return problem('GET /orders/:id answers 404');
  for (const difference of viewDifferences(apiView, workflowView)) problem(`API vs workflow query: ${difference}`);
  const fromRow = {
    state: row.state,
    cancelReason: row.cancel_reason,
    payment: { status: row.payment_status, id: row.payment_id },
    amount: row.amount,
  };
  const fromApi = {
    state: apiView.state,
    cancelReason: apiView.cancelReason,
    payment: apiView.payment,
    amount: apiView.amount,
  };
  if (!isDeepStrictEqual(fromApi, fromRow)) problem(`API ${JSON.stringify(fromApi)} vs row ${JSON.stringify(fromRow)}`);
  const status: unknown = JSON.parse(statusAnswer.text);
  if (!isDeepStrictEqual(status, { id: row.id, state: row.state })) problem(`GET /status answers ${statusAnswer.text}`);
}

/** The audit of a scenario's orders (and of every row of its customers) on a running stack. */
export async function auditStack(
  stack: Stack,
  api: ApiClient,
  { orderIds, customerIds }: Pick<AuditScope, 'orderIds' | 'customerIds'>,
): Promise<AuditReport> {
  const gatewayCalls = await stack.gatewayCalls();
  return auditOrders({ api, client: stack.client, db: stack.db, gatewayCalls, orderIds, customerIds });
}

export async function auditOrders(scope: AuditScope): Promise<AuditReport> {
  const known = new Set(scope.orderIds);
  const rows: OrderRow[] = await scope
    .db('orders.orders')
    .whereIn('id', [...known])
    .orWhereIn('customer_id', [...scope.customerIds])
    .select('id', 'customer_id', 'state', 'amount', 'cancel_reason', 'payment_status', 'payment_id');
  const ids = rows.map((row) => row.id);
  const events: EventRow[] = await scope.db('orders.order_events').whereIn('order_id', ids).orderBy('id').select();
  const payments: PaymentRow[] = await scope.db('payments.payments').whereIn('order_id', ids).select();
  const found = new Set(ids);
  const report: AuditReport = {
    orders: rows.length,
    finalStates: count(rows.map((row) => row.state)),
    cancelReasons: count(rows.flatMap((row) => (row.cancel_reason ? [row.cancel_reason] : []))),
    payments: count(payments.map((payment) => payment.status)),
    refunds: payments.filter((payment) => payment.status === 'refunded').length,
    gatewayCharges: 0,
    gatewayChargeRequests: 0,
    cancelRejections: events.filter((e) => e.event === 'cancel_rejected').length,
    lost: [...known].filter((id) => !found.has(id)),
    unexpected: ids.filter((id) => !known.has(id)),
    duplicates: [],
    problems: [],
  };
  await mapConcurrent(rows, 16, async (row) => {
    const own = events.filter((e) => e.order_id === row.id);
    if (!isFinal(row.state)) report.problems.push(`order ${row.id}: still ${row.state}`);
    checkHistory(row, own, report);
    const payment = payments.filter((p) => p.order_id === row.id);
    checkPayment(row, own, payment, report);
    const calls = scope.gatewayCalls.get(orderWorkflowId(row.id)) ?? [];
    report.gatewayCharges += calls.filter((c) => c.call === 'charge' && c.outcome === 'confirmed').length;
    report.gatewayChargeRequests += calls.filter((c) => c.call === 'charge' && c.outcome === 'requested').length;
    checkGatewayCalls(row, payment[0], calls, report);
    await checkViews(scope, row, report);
  });
  return report;
}
