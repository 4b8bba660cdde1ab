// Shared life cycle of a worker process: config, logs, health and metrics port, connections, run until SIGINT/SIGTERM,
// close everything.
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../config';
import { createDb, type Db } from '../db/knex';
import { createLogger, temporalLogger } from '../logging';
import { configuredPayloadCodec } from '../payload-codec';
import { startTracing } from '../telemetry';
import { freePort } from '../net';
import { startWorkerHealthServer } from './health-server';

export interface WorkerParts {
  config: Config;
  connection: NativeConnection;
  db: Db;
  /** Encrypts what the worker sends Temporal and decrypts what it receives (src/payload-codec.ts). */
  dataConverter: DataConverter;
}

export interface WorkerProcessOptions {
  /** The /healthz and /metrics port when WORKER_HEALTH_PORT is unset; 0 (the default) lets the OS choose. */
  defaultHealthPort?: number;
}

export async function runWorkerProcess(
  name: string,
  createWorker: (parts: WorkerParts) => Promise<Worker>,
  { defaultHealthPort = 0 }: WorkerProcessOptions = {},
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  // The SDK runtime serves its metrics on loopback only; the health server passes them on with the worker's own.
  const runtimeMetricsAddress = `127.0.0.1:${await freePort()}`;
  // The runtime's default shutdown signals (SIGINT, SIGTERM) make worker.run() drain and resolve.
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: { metrics: { prometheus: { bindAddress: runtimeMetricsAddress } } },
  });
  let worker: Worker | undefined;
  // Up before the connection, so that probes see 503 (not a refused connection) while the worker starts.
  const health = await startWorkerHealthServer({
    port: config.WORKER_HEALTH_PORT ?? defaultHealthPort,
    fallBackWhenInUse: config.WORKER_HEALTH_PORT === undefined,
    status: () => worker?.getStatus(),
    labels: { worker: name },
    runtimeMetricsUrl: `http://${runtimeMetricsAddress}/metrics`,
  });
  if (health.fellBack) logger.warn({ wanted: defaultHealthPort, healthPort: health.port }, 'health port in use');
  const tracing = startTracing(name, { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // Workers built on this connection inherit its plugins: activity and workflow interceptors, the span sink.
  const connection = await NativeConnection.connect({
    ...config.temporal.connectionOptions,
    plugins: tracing ? [tracing.plugin] : [],
  });
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX });
  try {
    const dataConverter = { payloadCodecs: [await configuredPayloadCodec(config)] };
    worker = await createWorker({ config, connection, db, dataConverter });
    logger.info(
      {
        taskQueue: worker.options.taskQueue,
        namespace: config.temporal.namespace,
        deploymentVersion: worker.options.workerDeploymentOptions?.version,
        healthPort: health.port,
      },
      'worker started',
    );
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await health.close();
    await db.destroy();
    await connection.close();
    await tracing?.shutdown();
  }
}
