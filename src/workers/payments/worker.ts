import { heartbeat } from '@temporalio/activity';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PaymentGateway } from '../../activities/gateway';
import { createPaymentActivities } from '../../activities/payments';
import type { Db } from '../../db/knex';
import { PAYMENTS_TASK_QUEUE } from '../../domain';

export interface PaymentsWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  gateway: PaymentGateway;
  tuning?: Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions'>;
}

export function createPaymentsWorker({
  connection,
  namespace,
  db,
  gateway,
  tuning,
}: PaymentsWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: PAYMENTS_TASK_QUEUE,
    activities: createPaymentActivities({ db, gateway, heartbeat }),
    ...tuning,
  });
}
