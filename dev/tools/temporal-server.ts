// Runs the Temporal dev server that `npm run temporal`, `npm start` and the e2e tests share.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TypedSearchAttributes } from '@temporalio/common';
import { customerIdSearchAttribute, orderStateSearchAttribute } from '../../src/domain';
import { sdkDownloadIntoCache } from './cache';
import { run, supervise, type Log } from './exec';
import { canConnect, waitForPort } from './net';

export const orderSearchAttributes = [orderStateSearchAttribute, customerIdSearchAttribute];

/**
 * The dev server's settings for this workload, the same under `npm start`, the e2e tier and the bench. SQLite in WAL
 * mode with synchronous=NORMAL: a crash of the server's own process loses nothing committed (only a power loss may
 * lose the last transactions), at a fraction of the fsyncs of the default. The search attributes are registered at
 * start, so the CLI's refresh of their cache on every read is not needed.
 */
export const DEV_SERVER_TUNING = [
  '--sqlite-pragma',
  'journal_mode=WAL',
  '--sqlite-pragma',
  'synchronous=NORMAL',
  '--dynamic-config-value',
  'system.forceSearchAttributesCacheRefreshOnRead=false',
];

/**
 * What only this project's build of the dev server (dev/wrappers/temporal-dev-server) does, for the same workload:
 * a new state file keeps only the visibility indexes the Web UI's lists and the order search attributes filter on.
 * The server rewrites every index of a workflow's visibility row at its start, each search attribute upsert and its
 * close; the 58 indexes of the full schema cost a quarter of the server's CPU per order (bench/README.md).
 */
export const PROJECT_DEV_SERVER_TUNING = ['--lean-visibility'];

/** This project's build says so in its version; the temporal CLI (a fallback) knows none of its own flags. */
async function isProjectDevServer(cliPath: string): Promise<boolean> {
  const version = await run(cliPath, ['--version']).catch(() => '');
  return version.includes('order-system-dev-server');
}

export interface DevServerOptions {
  /** The CLI path only: the codec endpoint the Web UI decodes payloads with. */
  uiCodecEndpoint?: string;
  /** The `temporal` CLI; without it the server comes from `@temporalio/testing` (which downloads the CLI). */
  cliPath?: string;
  ip?: string;
  port: number;
  uiPort: number;
  /** SQLite file that keeps workflows across restarts. */
  dbFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  log?: Log;
  /** The CLI path only: each line the server prints; without it the output is inherited. */
  onOutput?: (line: string) => void;
  /** This project's dev server only: serve Go's pprof on this port (the bench's --profile); off by default. */
  pprofPort?: number;
  /** The CLI path only: dynamic config beyond DEV_SERVER_TUNING, for a test that needs a setting of its own. */
  dynamicConfig?: DynamicConfigValues;
}

/** Dynamic config keys and their values (a duration as a string such as "1s"). */
export type DynamicConfigValues = Record<string, string | number | boolean>;

/** The dev server's `--dynamic-config-value key=JSON` arguments for `values`. */
export function dynamicConfigArgs(values: DynamicConfigValues = {}): string[] {
  return Object.entries(values).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
}

export interface DevServerHandle {
  address: string;
  uiUrl: string;
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  exited: Promise<number>;
  /** SIGTERM (a clean stop that flushes the state file), SIGKILL if it hangs. */
  stop(): Promise<void>;
  /** SIGKILL at once, synchronously: for the last-resort cleanup of an exiting process. */
  killNow(): void;
}

/** Resolves once the frontend port accepts connections. */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServerHandle> {
  const { ip = '127.0.0.1', port, uiPort, dbFile, logLevel = 'warn' } = opts;
  await mkdir(dirname(dbFile), { recursive: true });
  const address = `${ip}:${port}`;
  const uiUrl = `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}`;
  // Otherwise a server already listening there would pass for ours while ours fails to bind.
  if (await canConnect(ip, port)) throw new Error(`${address} is already in use (is another Temporal server running?)`);
  return opts.cliPath
    ? startCli(
        opts.cliPath,
        {
          ip,
          port,
          uiPort,
          dbFile,
          logLevel,
          address,
          uiUrl,
          uiCodecEndpoint: opts.uiCodecEndpoint,
          dynamicConfig: opts.dynamicConfig,
          pprofPort: opts.pprofPort,
        },
        opts.onOutput,
      )
    : startFromSdk({ ip, port, uiPort, dbFile, logLevel, address, uiUrl, log: opts.log });
}

type Resolved = Required<
  Omit<DevServerOptions, 'cliPath' | 'log' | 'onOutput' | 'uiCodecEndpoint' | 'dynamicConfig' | 'pprofPort'>
> & {
  address: string;
  uiUrl: string;
  uiCodecEndpoint?: string;
  dynamicConfig?: DynamicConfigValues;
  pprofPort?: number;
};

async function startCli(cliPath: string, o: Resolved, onOutput?: (line: string) => void): Promise<DevServerHandle> {
  const searchAttributeArgs = orderSearchAttributes.flatMap(({ name, type }) => [
    '--search-attribute',
    `${name}=${TypedSearchAttributes.toMetadataType(type)}`,
  ]);
  const ownBuild = await isProjectDevServer(cliPath);
  if (o.pprofPort && !ownBuild) throw new Error(`${cliPath} is not this project's dev server: it has no pprof flag`);
  const child = spawn(
    cliPath,
    ['server', 'start-dev', '--ip', o.ip, '--port', String(o.port)]
      .concat([
        '--ui-port',
        String(o.uiPort),
        '--db-filename',
        o.dbFile,
        '--namespace',
        'default',
        '--log-level',
        o.logLevel,
      ])
      .concat(DEV_SERVER_TUNING)
      .concat(ownBuild ? PROJECT_DEV_SERVER_TUNING : [])
      .concat(dynamicConfigArgs(o.dynamicConfig))
      .concat(o.uiCodecEndpoint ? ['--ui-codec-endpoint', o.uiCodecEndpoint] : [])
      .concat(o.pprofPort ? ['--pprof-port', String(o.pprofPort)] : [])
      .concat(searchAttributeArgs),
    { stdio: onOutput ? ['ignore', 'pipe', 'pipe'] : 'inherit' },
  );
  const { exited, stop: stopWithin, killNow } = supervise(child, onOutput);
  const stop = () => stopWithin(15_000);
  try {
    await Promise.race([
      waitForPort(o.ip, o.port, 60_000).then(() => waitForFrontend(o.address, 60_000)),
      exited.then((code) => Promise.reject(new Error(`temporal exited with ${code}`))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: o.address, uiUrl: o.uiUrl, exited, stop, killNow };
}

/** The port opens before the frontend serves ("Frontend is not healthy yet"): connect until it answers. */
async function waitForFrontend(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `the Temporal frontend at ${address} did not become healthy in ${timeoutMs} ms: ${String(error)}`,
        );
      }
      await sleep(100);
    }
  }
}

async function startFromSdk(o: Resolved & { log?: Log }): Promise<DevServerHandle> {
  o.log?.('no temporal CLI found; starting the one @temporalio/testing downloads');
  // Imported here: @temporalio/testing is a dev dependency, needed only on this path.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: await sdkDownloadIntoCache(),
      ip: o.ip,
      port: o.port,
      ui: true,
      uiPort: o.uiPort,
      dbFilename: o.dbFile,
      log: { format: 'pretty', level: o.logLevel },
      searchAttributes: orderSearchAttributes,
    },
  });
  let markStopped: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (markStopped = resolve));
  const stop = async () => {
    await env.teardown();
    markStopped(0);
  };
  // The SDK owns that process and kills it when this one exits.
  return { address: o.address, uiUrl: o.uiUrl, exited, stop, killNow: () => undefined };
}
