// Shared life cycle of a worker process: config, logs, connections, run until SIGINT/SIGTERM, close everything.
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../config';
import { createDb, type Db } from '../db/knex';
import { createLogger, temporalLogger } from '../logging';

export interface WorkerParts {
  config: Config;
  connection: NativeConnection;
  db: Db;
}

export async function runWorkerProcess(
  name: string,
  createWorker: (parts: WorkerParts) => Promise<Worker>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  // The runtime's default shutdown signals (SIGINT, SIGTERM) make worker.run() drain and resolve.
  Runtime.install({ logger: temporalLogger(logger) });
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX });
  try {
    const worker = await createWorker({ config, connection, db });
    logger.info({ taskQueue: worker.options.taskQueue, namespace: config.temporal.namespace }, 'worker started');
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await db.destroy();
    await connection.close();
  }
}
