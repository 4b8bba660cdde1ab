// `npm run temporal`: the Temporal dev server on 127.0.0.1:${TEMPORAL_PORT:-7233}, Web UI on 8233, state in .data/.
import { join } from 'node:path';
import { resolveTemporalCli } from '../src/tools/temporal-cli';
import { startTemporalDevServer } from '../src/tools/temporal-server';

const say = (line: string) => process.stdout.write(`[temporal] ${line}\n`);

async function main(): Promise<void> {
  const port = Number(process.env.TEMPORAL_PORT || 7233);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`TEMPORAL_PORT must be a port number`);
  const cli = await resolveTemporalCli({ log: say });
  if (cli) say(`using ${cli.path} (${cli.source})`);
  const server = await startTemporalDevServer({
    cliPath: cli?.path,
    port,
    uiPort: 8233,
    dbFile: join(__dirname, '..', '.data', 'temporal.db'),
    logLevel: 'warn',
    log: say,
  });
  say(`Temporal ready at ${server.address}, Web UI ${server.uiUrl}   (Ctrl-C stops it)`);
  process.on('SIGINT', () => void server.stop());
  process.on('SIGTERM', () => void server.stop());
  process.exitCode = await server.exited;
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
