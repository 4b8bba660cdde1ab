// Finds the `temporal` CLI (which runs the dev server), building it from its Go module when nothing else is there.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { toolsCacheDir } from './cache';
import { findOnPath, installAtomically, isExecutable, run, type Log } from './exec';

export const TEMPORAL_CLI_VERSION = '1.5.1';

export interface ResolvedTemporalCli {
  path: string;
  source: 'env' | 'path' | 'cache' | 'built';
}

export function cachedTemporalCliPath(): string {
  return join(toolsCacheDir(), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
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
  const cached = cachedTemporalCliPath();
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  const go = opts.build === false ? undefined : await findOnPath('go');
  if (!go) return undefined;
  opts.log?.(`building temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (a few minutes on a cold Go cache)`);
  await installAtomically(join(cached, '..'), 'temporal', (tmpDir) => goInstall(go, tmpDir, opts.log));
  return { path: cached, source: 'built' };
}

async function goInstall(go: string, binDir: string, log?: Log): Promise<void> {
  const args = [
    'install',
    '-trimpath',
    '-ldflags',
    `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
  ];
  const env = { ...process.env, CGO_ENABLED: '0', GOBIN: binDir };
  try {
    await run(go, args, env);
  } catch (error) {
    // Module downloads come through the proxy, but the checksum database may be unreachable behind a firewall.
    if (!(error instanceof Error && /verifying|checksum database/i.test(error.message))) throw error;
    log?.('checksum database unreachable; retrying with GOSUMDB=off (the module proxy still serves the code)');
    await run(go, args, { ...env, GOSUMDB: 'off' });
  }
  await access(join(binDir, 'temporal'));
}
