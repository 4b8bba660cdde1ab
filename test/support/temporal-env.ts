// Test environments on the locally obtained servers (see `npm run tools`), or on the SDK's own downloads without them.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { sdkDownloadIntoCache } from '../../dev/tools/cache';
import { resolveTemporalCli } from '../../dev/tools/temporal-cli';
import { freePort } from '../../dev/tools/net';
import { orderSearchAttributes, startTemporalDevServer } from '../../dev/tools/temporal-server';
import { resolveTestServer } from '../../dev/tools/test-server';

async function withHint<T>(usingSdkDownload: boolean, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (!usingSdkDownload) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`no local server found and the SDK's download failed (run \`npm run tools\`): ${reason}`, {
      cause: error,
    });
  }
}

/** The Java test server, whose clock jumps over timers (the delivery delay) whenever the test awaits a result. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  // Never fetch or build from a test (minutes, beyond any test timeout); `npm run tools` does that once.
  const server = await resolveTestServer({ fetch: false });
  const executable = server ? { type: 'existing-path' as const, path: server.path } : await sdkDownloadIntoCache();
  const env = await withHint(!server, () => TestWorkflowEnvironment.createTimeSkipping({ server: { executable } }));
  // Unlike the dev server it takes no search-attribute option, and the workflow's upserts fail until they exist.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      orderSearchAttributes.map(({ name, type }) => [name, encodeSearchAttributeIndexedValueType(type) ?? 0]),
    ),
  });
  return env;
}

/**
 * A real dev server (the `temporal` CLI) with the order search attributes registered, on a free port. Started here
 * rather than by the SDK, which gives a server 5 s to come up: too little on a loaded 2-core machine.
 */
export async function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  const cli = await resolveTemporalCli({ build: false });
  if (!cli) {
    const executable = await sdkDownloadIntoCache();
    return withHint(true, () =>
      TestWorkflowEnvironment.createLocal({ server: { executable, searchAttributes: orderSearchAttributes } }),
    );
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'order-system-dev-server-'));
  const server = await startTemporalDevServer({
    cliPath: cli.path,
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: join(stateDir, 'temporal.db'),
    logLevel: 'error',
  });
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address }).catch(
    async (error: unknown) => {
      await server.stop();
      throw error;
    },
  );
  const teardownEnv = env.teardown.bind(env);
  return Object.assign(env, {
    async teardown() {
      await teardownEnv();
      await server.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  });
}
