// Obtains Temporal's Java time-skipping test server from Maven Central (it ships no single jar) and a launcher for it.
import { spawn } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toolsCacheDir } from './cache';
import { findOnPath, installAtomically, isExecutable, run, type Log } from './exec';
import { freePort, waitForPort } from './net';

export const TEST_SERVER_VERSION = '1.38.0';

const pom = join(__dirname, '..', 'wrappers', 'test-server', 'pom.xml');
const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
const jvmFlags = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

// exec: the SDK stops only its direct child, so the JVM must be that child. A missing or stale class-data archive
// is skipped silently (the -Xlog flags), costing only start-up time.
const launcher = `#!/bin/sh
# Temporal time-skipping test server ${TEST_SERVER_VERSION}; the SDK runs it as: test-server <port>
here=$(cd "$(dirname "$0")" && pwd)
exec "${'$'}{JAVA_HOME:+$JAVA_HOME/bin/}java" ${jvmFlags.join(' ')} \\
  -XX:SharedArchiveFile="$here/classes.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \\
  -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
`;

/** `undefined` when it is not cached and cannot be fetched (no mvn or java): the SDK then downloads its own. */
export async function resolveTestServer(
  opts: { fetch?: boolean; log?: Log } = {},
): Promise<{ path: string } | undefined> {
  const dir = join(toolsCacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}`);
  const path = join(dir, 'test-server');
  if (await isExecutable(path)) return { path };
  if (opts.fetch === false || !(await findOnPath('mvn')) || !(await findOnPath('java'))) return undefined;
  opts.log?.(`fetching io.temporal:temporal-test-server:${TEST_SERVER_VERSION} and its dependencies with Maven`);
  await installAtomically(dir, 'test-server', async (tmpDir) => {
    await run('mvn', [
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      pom,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(tmpDir, 'lib')}`,
      `-Dtemporal.test-server.version=${TEST_SERVER_VERSION}`,
    ]);
    await writeFile(join(tmpDir, 'test-server'), launcher, { mode: 0o755 });
  });
  opts.log?.('recording a class-data archive so the JVM starts well inside the SDK start-up wait');
  // Only start-up time is at stake, so a failed recording is reported and the server used without it.
  await recordClassDataArchive(dir).catch((error: Error) => opts.log?.(`class-data archive skipped: ${error.message}`));
  return { path };
}

/** AppCDS: one start with -XX:ArchiveClassesAtExit; it must run from the final directory, as the archive pins the classpath. */
async function recordClassDataArchive(dir: string): Promise<void> {
  const archive = join(dir, `classes.jsa.tmp-${process.pid}`);
  const port = await freePort();
  const server = spawn(
    java,
    [
      `-XX:ArchiveClassesAtExit=${archive}`,
      ...jvmFlags,
      '-cp',
      join(dir, 'lib', '*'),
      'io.temporal.testserver.TestServer',
      String(port),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    await waitForPort('127.0.0.1', port, 60_000, () => server.exitCode !== null);
  } finally {
    server.kill('SIGTERM');
    await exited;
  }
  await rename(archive, join(dir, 'classes.jsa')).catch(() => rm(archive, { force: true }));
}
