// One time-skipping Temporal environment per test file, with the workflow bundle built once and helpers
// that run the orders and payments workers around a test's story.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import {
  ORDERS_TASK_QUEUE,
  orderWorkflowId,
  orderWorkflowType,
  PAYMENTS_TASK_QUEUE,
  statusQuery,
  type OrderState,
  type OrderView,
  type OrderWorkflowInput,
} from '../../src/domain';
import { createTimeSkippingEnv } from '../support/temporal-env';
import type { orderWorkflow } from '../../src/workflows';
import { bundleOrderWorkflows } from '../../src/workers/orders/workflow-bundle';
import { eventually } from '../../dev/support/poll';
import type { FakeOrderStore, FakePayments } from './fakes';

export const DELIVERY_DELAY_SECONDS = 24 * 60 * 60;

export type OrderHandle = WorkflowHandle<typeof orderWorkflow>;

export function newOrderInput(overrides: Partial<OrderWorkflowInput['order']> = {}): OrderWorkflowInput {
  return {
    order: {
      id: randomUUID(),
      customerId: 'c-42',
      items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
      currency: 'MYR',
      paymentToken: 'tok_visa',
      ...overrides,
    },
    deliveryDelaySeconds: DELIVERY_DELAY_SECONDS,
  };
}

export async function startWorkflowHarness() {
  const env: TestWorkflowEnvironment = await createTimeSkippingEnv();
  // The sandbox the orders worker runs, tracing interceptors included.
  const workflowBundle = await bundleOrderWorkflows({ logger: new DefaultLogger('WARN') });

  return {
    env,
    teardown: () => env.teardown(),

    /** Runs an orders worker and a payments worker with the given fakes around `story`. */
    async withWorkers<T>(store: FakeOrderStore, payments: FakePayments, story: () => Promise<T>): Promise<T> {
      const [ordersWorker, paymentsWorker] = await Promise.all([
        Worker.create({
          connection: env.nativeConnection,
          taskQueue: ORDERS_TASK_QUEUE,
          workflowBundle,
          activities: store,
        }),
        Worker.create({ connection: env.nativeConnection, taskQueue: PAYMENTS_TASK_QUEUE, activities: payments }),
      ]);
      return ordersWorker.runUntil(paymentsWorker.runUntil(story));
    },

    startOrder(input = newOrderInput()): Promise<OrderHandle> {
      return env.client.workflow.start<typeof orderWorkflow>(orderWorkflowType, {
        taskQueue: ORDERS_TASK_QUEUE,
        workflowId: orderWorkflowId(input.order.id),
        args: [input],
      });
    },

    async stateOf(handle: OrderHandle): Promise<OrderState> {
      return (await handle.query(statusQuery)).state;
    },

    waitForState(handle: OrderHandle, state: OrderState): Promise<OrderView> {
      return eventually(`order state ${state}`, async () => {
        const view = await handle.query(statusQuery);
        return view.state === state ? view : undefined;
      });
    },
  };
}

export type WorkflowHarness = Awaited<ReturnType<typeof startWorkflowHarness>>;
