import { heartbeat } from '@temporalio/activity';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PaymentGateway } from '../../activities/gateway';
import { createPaymentActivities } from '../../activities/payments';
import type { Config } from '../../config';
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

/** The payments worker's settings as the configuration gives them, for every process that runs one. */
export function paymentsWorkerSettings(config: Config): Required<Pick<PaymentsWorkerDeps, 'namespace' | 'tuning'>> {
  return {
    namespace: config.temporal.namespace,
    tuning: { maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES },
  };
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
