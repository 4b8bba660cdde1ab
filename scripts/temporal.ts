// `npm run temporal`: the Temporal dev server on 127.0.0.1:7233, Web UI on 8233, state in .data/temporal.db.
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { localCodecEndpoint, startLocalTemporal } from '../dev/tools/local-stack';

const say = (line: string) => process.stdout.write(`[temporal] ${line}\n`);

async function main(): Promise<void> {
  const uiCodecEndpoint = await localCodecEndpoint(loadConfig());
  const server = await startLocalTemporal({ root: join(__dirname, '..'), log: say, uiCodecEndpoint });
  say('Ctrl-C stops it');
  process.on('SIGINT', () => void server.stop());
  process.on('SIGTERM', () => void server.stop());
  process.exitCode = await server.exited;
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
