// Volume: hundreds of concurrent orders all settle correctly, and a burst of hostile input changes nothing.
import { ApiClient } from './api-client';
import { auditStack, findings } from './audit';
import { FiguresBook, figuresFrom } from './figures';
import { hostileRequests } from './hostile-requests';
import { startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { waitUntilAllFinal } from './order-probes';
import { mapConcurrent } from '../../dev/support/map-concurrent';
import { createOrders, orderBody, scenarioCustomer } from './workload';
import { stopAndSearchLogs } from './credential-search';

jest.setTimeout(240_000);

const ORDERS = 500;
const CLIENT_CONCURRENCY = 32;
const APPROVAL_RATE = 0.5;

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startStack('volume', { paymentsWorker: { PAYMENT_APPROVAL_RATE: String(APPROVAL_RATE) } });
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it('settles 500 concurrent orders, each delivered or cancelled, with about half the payments approved', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const customer = scenarioCustomer('volume');
    const bodies = Array.from({ length: ORDERS }, (_, i) => orderBody(customer, 'tok_visa', i));
    const { orders, retriedCreates } = await createOrders(api, bodies, { concurrency: CLIENT_CONCURRENCY });
    const createdMs = Date.now() - started;
    const ids = orders.map((order) => order.id);
    await waitUntilAllFinal(stack.db, ids, 150_000);
    const settledMs = Date.now() - started;

    const report = await auditStack(stack, api, { orderIds: ids, customerIds: [customer] });
    const delivered = report.finalStates.delivered ?? 0;
    const approvalShare = delivered / ORDERS;
    figures.record(
      figuresFrom('1 volume (500 concurrent orders)', report, {
        faults: [],
        durationMs: Date.now() - started,
        extra: {
          created_in: `${(createdMs / 1000).toFixed(1)}s`,
          creates_retried_after_503: retriedCreates,
          all_final_in: `${(settledMs / 1000).toFixed(1)}s`,
          delivered,
          cancelled: report.finalStates.cancelled ?? 0,
          approval_share: approvalShare.toFixed(3),
          gateway_charges: report.gatewayCharges,
        },
      }),
    );
    expect(findings(report)).toEqual([]);
    expect(report.orders).toBe(ORDERS);
    expect(delivered + (report.finalStates.cancelled ?? 0)).toBe(ORDERS);
    expect(report.cancelReasons).toEqual({ payment_declined: ORDERS - delivered });
    expect(approvalShare).toBeGreaterThanOrEqual(0.35);
    expect(approvalShare).toBeLessThanOrEqual(0.65);
  }));

it('answers a burst of malformed, oversized and hostile requests with 4xx problems, stays up and writes nothing', () =>
  withLogsOnFailure(stack, async () => {
    const started = Date.now();
    const rowCounts = async () => {
      const [orders] = await stack.db('orders.orders').count({ n: '*' });
      const [events] = await stack.db('orders.order_events').count({ n: '*' });
      const [payments] = await stack.db('payments.payments').count({ n: '*' });
      return { orders: Number(orders.n), events: Number(events.n), payments: Number(payments.n) };
    };
    const workflowCount = async () => (await stack.client.workflow.count()).count;
    const [rowsBefore, workflowsBefore] = await Promise.all([rowCounts(), workflowCount()]);

    const burst = Array.from({ length: 6 }, () => hostileRequests).flat();
    const answers = await mapConcurrent(burst, 24, async (request) => ({
      request,
      answer: await api.send(request.path, request),
    }));

    const wrong = answers.flatMap(({ request, answer }) => {
      const statusOk =
        request.expected === '4xx' ? answer.status >= 400 && answer.status < 500 : answer.status === request.expected;
      const problemJson = answer.contentType.startsWith('application/problem+json');
      const leaksStack = /\n\s+at |node_modules|\.ts:\d+/.test(answer.text);
      return statusOk && problemJson && !leaksStack
        ? []
        : [
            `${request.name}: expected ${request.expected} problem+json, got ${answer.status} ${answer.contentType} ${answer.text.slice(0, 200)}`,
          ];
    });
    const distinctWrong = [...new Set(wrong)];
    const health = await api.status('/healthz');
    const [rowsAfter, workflowsAfter] = await Promise.all([rowCounts(), workflowCount()]);
    figures.record({
      scenario: '8 hostile input',
      orders: rowsAfter.orders - rowsBefore.orders,
      faults: [`${burst.length} hostile requests (${hostileRequests.length} kinds)`],
      durationMs: Date.now() - started,
      lost: 0,
      duplicates: 0,
      problems: distinctWrong.length,
      extra: {
        rows_written: rowsAfter.orders - rowsBefore.orders,
        workflows_started: workflowsAfter - workflowsBefore,
      },
    });

    expect(distinctWrong).toEqual([]);
    expect(health).toBe(200);
    expect(stack.api.running).toBe(true);
    expect(stack.unexpectedExits()).toEqual([]);
    expect(rowsAfter).toEqual(rowsBefore);
    expect(workflowsAfter).toBe(workflowsBefore);
  }));
