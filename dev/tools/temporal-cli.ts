// Finds the binary that runs the dev server (`temporal server start-dev`), building it from Go modules when nothing
// else is there: first the project's dev server (dev/wrappers/temporal-dev-server: the server release docker-compose
// pins, with the Web UI), else the temporal CLI 1.5.1 as before.
//
// Why not a newer CLI: from 1.6 on, github.com/temporalio/cli replaces its own github.com/temporalio/cli/cliext with
// ./cliext, a nested module the Go module proxy serves no version of (and the cli module's zip leaves out), so
// neither `go install` nor a wrapper module with a versioned replace can build it (checked for v1.9.1: server 1.32.0,
// UI 2.54.1). 1.5.1, the newest that builds, embeds server 1.29.1 (CVE-2025-14986).
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toolsCacheDir } from './cache';
import { findOnPath, installAtomically, isExecutable, run, type Log } from './exec';

/** The fallback, and the CLI for client commands (`temporal workflow …`); its embedded server is 1.29.1. */
export const TEMPORAL_CLI_VERSION = '1.5.1';

const devServerModuleDir = resolve(__dirname, '..', 'wrappers', 'temporal-dev-server');

export interface ResolvedTemporalCli {
  path: string;
  source: 'env' | 'path' | 'cache' | 'built';
}

export function cachedTemporalCliPath(): string {
  return join(toolsCacheDir(), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

interface DevServerBuild {
  /** `<cache>/temporal-dev-server-<server version>-<hash of the module's files>/temporal` */
  path: string;
  serverVersion: string;
  hash: string;
}

/** Where the dev server of dev/wrappers/temporal-dev-server is (or would be) cached; undefined without that module. */
async function devServerBuild(): Promise<DevServerBuild | undefined> {
  const files = await Promise.all(
    ['go.mod', 'go.sum', 'main.go'].map((name) => readFile(join(devServerModuleDir, name), 'utf8')),
  ).catch(() => undefined);
  if (!files) return undefined;
  const serverVersion = /^\s*go\.temporal\.io\/server v(\S+)/m.exec(files[0])?.[1] ?? 'unknown';
  const hash = createHash('sha256').update(files.join('\0')).digest('hex').slice(0, 8);
  return {
    path: join(toolsCacheDir(), `temporal-dev-server-${serverVersion}-${hash}`, 'temporal'),
    serverVersion,
    hash,
  };
}

/** `undefined` means no CLI: callers fall back to the copy `@temporalio/testing` downloads. */
export async function resolveTemporalCli(
  opts: { build?: boolean; log?: Log } = {},
): Promise<ResolvedTemporalCli | undefined> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!(await isExecutable(fromEnv))) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'env' };
  }
  const onPath = await findOnPath('temporal');
  if (onPath) return { path: onPath, source: 'path' };
  const devServer = await devServerBuild();
  if (devServer && (await isExecutable(devServer.path))) return { path: devServer.path, source: 'cache' };
  const go = opts.build === false ? undefined : await findOnPath('go');
  if (go && devServer) {
    try {
      await buildDevServer(go, devServer, opts.log);
      return { path: devServer.path, source: 'built' };
    } catch (error) {
      // The last line of go's output is where it says why.
      const lines = (error instanceof Error ? error.message : String(error)).split('\n').filter((l) => l.trim());
      const reason = lines[lines.length - 1]?.trim() ?? 'unknown reason';
      opts.log?.(
        `dev server (server ${devServer.serverVersion}) did not build, using CLI ${TEMPORAL_CLI_VERSION}: ${reason}`,
      );
    }
  }
  return resolveTemporalClientCli({ ...opts, build: Boolean(go) });
}

/**
 * The temporal CLI 1.5.1 itself: the fallback dev server above, and the CLI for client commands (README), whose
 * embedded server then never runs. `build: false` only looks.
 */
export async function resolveTemporalClientCli(
  opts: { build?: boolean; log?: Log } = {},
): Promise<ResolvedTemporalCli | undefined> {
  const cached = cachedTemporalCliPath();
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  const go = opts.build === false ? undefined : await findOnPath('go');
  if (!go) return undefined;
  opts.log?.(`building temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (a few minutes on a cold Go cache)`);
  await installAtomically(join(cached, '..'), 'temporal', (tmpDir) => goInstall(go, tmpDir, opts.log));
  return { path: cached, source: 'built' };
}

/** Module downloads come through the proxy, but the checksum database may be unreachable behind a firewall. */
async function runGo(go: string, args: string[], env: NodeJS.ProcessEnv, log?: Log): Promise<void> {
  try {
    await run(go, args, env);
  } catch (error) {
    if (!(error instanceof Error && /verifying|checksum database/i.test(error.message))) throw error;
    log?.('checksum database unreachable; retrying with GOSUMDB=off (the module proxy still serves the code)');
    await run(go, args, { ...env, GOSUMDB: 'off' });
  }
}

/** `go build` of dev/wrappers/temporal-dev-server at `nice 10` (it compiles the whole server: minutes when cold). */
async function buildDevServer(go: string, build: DevServerBuild, log?: Log): Promise<void> {
  log?.(
    `building the Temporal dev server (server ${build.serverVersion}, dev/wrappers/temporal-dev-server) with ${go}`,
  );
  const nice = await findOnPath('nice');
  const [command, prefix] = nice ? [nice, ['-n', '10', go]] : [go, []];
  await installAtomically(join(build.path, '..'), 'temporal', async (tmpDir) => {
    const args = [
      ...prefix,
      '-C',
      devServerModuleDir,
      'build',
      '-trimpath',
      `-ldflags=-s -w -X main.Version=order-system-dev-server-${build.hash}`,
      '-o',
      join(tmpDir, 'temporal'),
      '.',
    ];
    await runGo(command, args, { ...process.env, CGO_ENABLED: '0' }, log);
    await access(join(tmpDir, 'temporal'));
  });
}

async function goInstall(go: string, binDir: string, log?: Log): Promise<void> {
  const args = [
    'install',
    '-trimpath',
    '-ldflags',
    `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
  ];
  await runGo(go, args, { ...process.env, CGO_ENABLED: '0', GOBIN: binDir }, log);
  await access(join(binDir, 'temporal'));
}
