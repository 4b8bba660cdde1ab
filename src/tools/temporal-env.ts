// Test environments on the locally obtained servers (see `npm run tools`), or on the SDK's own downloads without them.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment, type LocalTestWorkflowEnvironmentOptions } from '@temporalio/testing';
import { sdkDownloadIntoCache } from './cache';
import { resolveTemporalCli } from './temporal-cli';
import { orderSearchAttributes } from './temporal-server';
import { resolveTestServer } from './test-server';

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

/** A real dev server (the `temporal` CLI) with the order search attributes registered, on a free port. */
export async function createDevServerEnv(
  server: LocalTestWorkflowEnvironmentOptions['server'] = {},
): Promise<TestWorkflowEnvironment> {
  const cli = await resolveTemporalCli({ build: false });
  const executable = cli ? { type: 'existing-path' as const, path: cli.path } : await sdkDownloadIntoCache();
  return withHint(!cli, () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        searchAttributes: orderSearchAttributes,
        ...server,
      },
    }),
  );
}
