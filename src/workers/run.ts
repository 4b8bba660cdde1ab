// Shared life cycle of a worker process: config, logs, health and metrics port, then wait for PostgreSQL and
// Temporal (retrying with capped backoff while they are down), run the worker, and make it again whenever it loses
// Temporal, until SIGINT/SIGTERM; close everything. Only a bad configuration stops it on its own.
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../config';
import { createDb, type Db } from '../db/knex';
import {
  BadConfiguration,
  describeFailure,
  isTemporalOutage,
  postgresDependency,
  temporalDependency,
  temporalMisconfigured,
  waitFor,
  Waits,
  watchDependencies,
  type Watch,
} from '../dependencies';
import { createLogger, temporalLogger } from '../logging';
import { configuredPayloadCodec } from '../payload-codec';
import { startTracing, type Tracing } from '../telemetry';
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

const CORE_LOG_FILTER = 'WARN,temporalio_client::retry=ERROR,temporalio_sdk_core::worker::heartbeat=ERROR';

/** Settles when the process is told to stop; the steps that wait race it so that a stop never waits out a backoff. */
class StopSignal {
  stopping = false;
  private resolveStopped!: () => void;
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  stop(): void {
    this.stopping = true;
    this.resolveStopped();
  }

  /** The step's result, or undefined once the process is stopping. */
  race<T>(step: Promise<T>): Promise<T | undefined> {
    step.catch(() => undefined); // a step abandoned at a stop may still fail; that is no longer anyone's concern
    return Promise.race([step, this.stopped.then(() => undefined)]);
  }
}

export async function runWorkerProcess(
  name: string,
  createWorker: (parts: WorkerParts) => Promise<Worker>,
  { defaultHealthPort = 0 }: WorkerProcessOptions = {},
): Promise<never> {
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
  // Signals are handled below, not by the runtime: a worker still waiting for Temporal has no worker to shut down.
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: runtimeMetricsAddress } },
      // The SDK core's own lines through our logger; without its per-try retry warnings, which an outage of Temporal
      // turns into several lines a second (the watch below says it once).
      logging: { filter: CORE_LOG_FILTER, forward: {} },
    },
    shutdownSignals: [],
  });
  const signal = new StopSignal();
  let worker: Worker | undefined;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal.stopping) return;
    logger.info({ signal: received }, 'worker stopping');
    signal.stop();
    if (worker?.getState() === 'RUNNING') worker.shutdown();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const waits = new Waits();
  let connection: NativeConnection | undefined;
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX, logger });
  // Up before anything is awaited, so that probes see what the worker waits for rather than a refused connection.
  const health = await startWorkerHealthServer({
    port: config.WORKER_HEALTH_PORT ?? defaultHealthPort,
    fallBackWhenInUse: config.WORKER_HEALTH_PORT === undefined,
    status: () => worker?.getStatus(),
    waitingFor: () => waits.list(),
    labels: { worker: name },
    runtimeMetricsUrl: `http://${runtimeMetricsAddress}/metrics`,
  });
  if (health.fellBack) logger.warn({ wanted: defaultHealthPort, healthPort: health.port }, 'health port in use');
  const tracing = startTracing(name, { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const waitOptions = { logger, waits, stopping: () => signal.stopping };
  const address = config.temporal.connectionOptions.address ?? config.TEMPORAL_ADDRESS;
  const { namespace } = config.temporal;
  let exitCode = 0;
  let watch: Watch | undefined;
  // A worker made after the stop came holds the connection until it has run, which it never will.
  let creationAbandoned = false;
  try {
    const dataConverter = { payloadCodecs: [await configuredPayloadCodec(config)] };
    await signal.race(waitFor(postgresDependency(db, config.DATABASE_URL), waitOptions));
    connection = await signal.race(
      waitFor(
        temporalDependency(address, namespace, () => connectToNamespace(config, tracing)),
        waitOptions,
      ),
    );
    const live = connection;
    if (live) {
      watch = watchDependencies(
        [
          postgresDependency(db, config.DATABASE_URL),
          temporalDependency(address, namespace, () =>
            live.withDeadline(Date.now() + 2_000, () => live.workflowService.getSystemInfo({})),
          ),
        ],
        { logger, waits },
      );
    }
    while (live && !signal.stopping) {
      const parts: WorkerParts = { config, connection: live, db, dataConverter };
      worker = await signal.race(
        waitFor(
          workerOn(address, namespace, () => createWorker(parts)),
          waitOptions,
        ),
      );
      if (!worker || signal.stopping) {
        creationAbandoned = true;
        break;
      }
      const { taskQueue, workerDeploymentOptions } = worker.options;
      const deploymentVersion = workerDeploymentOptions?.version;
      logger.info({ taskQueue, namespace, deploymentVersion, healthPort: health.port }, 'worker started');
      try {
        await worker.run();
        logger.info('worker stopped');
        break;
      } catch (error) {
        if (signal.stopping || !isTemporalOutage(error)) throw error;
        // The SDK gives up polling after a long outage; a new worker on the same connection waits for it instead.
        logger.warn({ reason: describeFailure(error) }, 'worker lost Temporal; making it again once Temporal answers');
        worker = undefined;
      }
    }
  } catch (error) {
    if (!(error instanceof BadConfiguration)) throw error;
    logger.fatal(`bad configuration: ${error.message}`);
    exitCode = 2;
  } finally {
    watch?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await health.close();
    await db.destroy();
    // The SDK refuses to close a connection a worker holds; the exit below ends both.
    if (!creationAbandoned) await connection?.close();
    await tracing?.shutdown();
  }
  // A wait abandoned at the stop may still hold a backoff timer; nothing is left to finish.
  process.exit(exitCode);
}

/** A connection on which the namespace answered: an unknown namespace is a bad configuration, not an outage. */
async function connectToNamespace(config: Config, tracing: Tracing | undefined): Promise<NativeConnection> {
  // Workers built on this connection inherit its plugins: activity and workflow interceptors, the span sink.
  const connection = await NativeConnection.connect({
    ...config.temporal.connectionOptions,
    plugins: tracing ? [tracing.plugin] : [],
  });
  try {
    await connection.withDeadline(Date.now() + 10_000, () =>
      connection.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
    );
    return connection;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/** Making the worker registers it with the server, which can fail because Temporal went down again meanwhile. */
function workerOn(address: string, namespace: string, create: () => Promise<Worker>) {
  const dependency = temporalDependency(address, namespace, create);
  return {
    ...dependency,
    fatal: (error: unknown) => {
      if (temporalMisconfigured(error)) return dependency.fatal(error);
      return isTemporalOutage(error) ? undefined : error instanceof Error ? error : new Error(String(error));
    },
  };
}
