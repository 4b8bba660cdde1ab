import { heartbeat } from '@temporalio/activity';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PaymentGateway } from '../../activities/gateway';
import { createPaymentActivities } from '../../activities/payments';
import type { Db } from '../../db/knex';
import { PAYMENTS_TASK_QUEUE } from '../../domain';

export interface PaymentsWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  /** The payload codec's converter; none in tests that run without encryption. */
  dataConverter?: DataConverter;
  gateway: PaymentGateway;
  tuning?: Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions'>;
}

export function createPaymentsWorker({
  connection,
  namespace,
  db,
  dataConverter,
  gateway,
  tuning,
}: PaymentsWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    dataConverter,
    taskQueue: PAYMENTS_TASK_QUEUE,
    activities: createPaymentActivities({ db, gateway, heartbeat }),
    ...tuning,
  });
}
