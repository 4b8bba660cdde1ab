// The consistency audit every scenario ends with, over the scenario's orders and every row of its customers: each
// order is final, seen alike by the API, its workflow's `status` query and Postgres, has a legal history with no
// repeated transition, and exactly one payment, refunded iff it was cancelled after a confirmed payment; and the
// gateway was never asked to take the money twice.
import type { Client } from '@temporalio/client';
import type { Db } from '../../src/db/knex';
import { isFinal, orderWorkflowId, type OrderState, type PaymentStatus } from '../../src/domain';
import type { ApiClient } from './api-client';
import {
  checkGatewayCalls,
  checkHistory,
  checkPayment,
  type EventRow,
  type Finding,
  type OrderRow,
  type PaymentRow,
} from './audit-rules';
import { checkViews } from './audit-views';
import type { GatewayCall } from '../../dev/stack/gateway-calls';
import type { Stack } from '../../dev/stack/stack';
import { mapConcurrent } from '../../dev/support/map-concurrent';

export interface AuditScope {
  api: ApiClient;
  client: Client;
  db: Db;
  /** The orders the scenario's clients were given (201 answers). */
  orderIds: readonly string[];
  /** Every row of these customers is audited too: one no client was given is an unexpected (duplicate) order. */
  customerIds: readonly string[];
  /** The payments worker's calls to the gateway, by workflow id. */
  gatewayCalls: Map<string, GatewayCall[]>;
  /** How long a workflow may still take to close. */
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
  /** Something that happened twice: a transition, a charge. */
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

const chargeCalls = (calls: GatewayCall[], outcome: GatewayCall['outcome']) =>
  calls.filter((c) => c.call === 'charge' && c.outcome === outcome).length;

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
  const calls = ids.flatMap((id) => scope.gatewayCalls.get(orderWorkflowId(id)) ?? []);

  const found = (
    await mapConcurrent(rows, 16, async (row) => {
      const own = events.filter((e) => e.order_id === row.id);
      const payment = payments.filter((p) => p.order_id === row.id);
      const final: Finding[] = isFinal(row.state)
        ? []
        : [{ kind: 'problem', text: `order ${row.id}: still ${row.state}` }];
      return [
        ...final,
        ...checkHistory(row, own),
        ...checkPayment(row, own, payment),
        ...checkGatewayCalls(row, payment[0], scope.gatewayCalls.get(orderWorkflowId(row.id)) ?? []),
        ...(await checkViews(scope, row, scope.settleTimeoutMs ?? 30_000)),
      ];
    })
  ).flat();
  const recorded = new Set(ids);
  return {
    orders: rows.length,
    finalStates: count(rows.map((row) => row.state)),
    cancelReasons: count(rows.flatMap((row) => (row.cancel_reason ? [row.cancel_reason] : []))),
    payments: count(payments.map((payment) => payment.status)),
    refunds: payments.filter((payment) => payment.status === 'refunded').length,
    gatewayCharges: chargeCalls(calls, 'confirmed'),
    gatewayChargeRequests: chargeCalls(calls, 'requested'),
    cancelRejections: events.filter((e) => e.event === 'cancel_rejected').length,
    lost: [...known].filter((id) => !recorded.has(id)),
    unexpected: ids.filter((id) => !known.has(id)),
    duplicates: found.filter((f) => f.kind === 'duplicate').map((f) => f.text),
    problems: found.filter((f) => f.kind === 'problem').map((f) => f.text),
  };
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
