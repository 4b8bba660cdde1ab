// `npm start`: the whole product in one terminal — embedded PostgreSQL and a Temporal dev server unless
// DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, migrations, both workers and the API. A child that exits on its
// own is started again (dev/tools/supervisor.ts); a crash loop or a bad configuration stops it all, as does Ctrl-C.
import { join } from 'node:path';
import { signToken, loadOrCreateSigningKey } from '../src/api/auth-keys';
import { loadConfig } from '../src/config';
import { createDb, migrateLatest } from '../src/db/knex';
import { postgresDependency, waitFor, Waits } from '../src/dependencies';
import {
  LOCAL_TEMPORAL_UI_PORT,
  startLocalDatabase,
  localCodecEndpoint,
  startLocalTemporal,
  type Stoppable,
} from '../dev/tools/local-stack';
import { readableLogLine, startService } from '../dev/tools/service-process';
import { Supervisor, type ChildSpec } from '../dev/tools/supervisor';

const root = join(__dirname, '..');
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

// The services stop before the servers they use, and PostgreSQL (which is not supervised) last.
const events = { say, giveUp: (reason: string) => void stopAll(1, reason) };
const services = new Supervisor(events);
const temporalServer = new Supervisor(events);
let database: Stoppable | undefined;
let stopping = false;

async function stopAll(exitCode: number, reason?: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(reason ?? 'stopping…');
  services.halt();
  temporalServer.halt();
  await services.stopAll();
  await temporalServer.stopAll();
  await database?.stop();
  say('stopped');
  process.exit(exitCode);
}

const LAST_LINES = 5;

/** A service of src/ as a supervised child: its output prefixed with its name, its last lines kept for a crash. */
function serviceChild(name: string, script: string, env: NodeJS.ProcessEnv): ChildSpec {
  const lines: string[] = [];
  return {
    name,
    exitsTwoOnBadConfiguration: true,
    lastLines: () => lines,
    start: async () =>
      startService({
        name,
        script: join(root, script),
        env,
        onLine: (line) => {
          const readable = readableLogLine(line);
          lines.push(readable);
          if (lines.length > LAST_LINES) lines.shift();
          process.stdout.write(`[${name}] ${readable}\n`);
        },
      }),
  };
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  const config = loadConfig();

  if (!process.env.DATABASE_URL) database = await startLocalDatabase({ root, port: config.EMBEDDED_PG_PORT, log: say });
  if (!process.env.TEMPORAL_ADDRESS) {
    const uiCodecEndpoint = await localCodecEndpoint(config);
    await temporalServer.supervise({
      name: 'temporal',
      lastLines: () => [],
      start: () => startLocalTemporal({ root, log: say, uiCodecEndpoint }),
    });
  }

  // A PostgreSQL of DATABASE_URL that is down is waited for, as every service does; a bad configuration stops here.
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  const log = { info: (_: object, line: string) => say(line), warn: (_: object, line: string) => say(line) };
  const applied = await waitFor(postgresDependency(db, config.DATABASE_URL), {
    logger: log,
    waits: new Waits(),
    stopping: () => stopping,
  })
    .then(() => migrateLatest(db))
    .finally(() => db.destroy());
  say(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');

  const env = {
    ...process.env,
    DATABASE_URL: config.DATABASE_URL,
    TEMPORAL_ADDRESS: config.temporal.connectionOptions.address,
  };
  await Promise.all(
    [
      ['orders', 'src/workers/orders/main.ts'],
      ['payments', 'src/workers/payments/main.ts'],
      ['api', 'src/api/server.ts'],
    ].map(([name, script]) => services.supervise(serviceChild(name, script, env))),
  );

  const api = `http://localhost:${config.PORT}`;
  await waitForReady(`${api}/readyz`);
  say(`API          ${api}   (OpenAPI document: ${api}/openapi.json)`);
  say(`Temporal UI  http://localhost:${LOCAL_TEMPORAL_UI_PORT}/namespaces/${config.temporal.namespace}/workflows`);
  // The API has made its signing key under .data/ by now: a customer's token for the walk-through, an operator's for
  // the console (the page moves it out of the address bar into the tab's storage).
  const key = config.AUTH_JWKS_URL ? undefined : await loadOrCreateSigningKey(config.AUTH_KEY_FILE);
  const token = key
    ? await signToken(key, { subject: 'c-42', role: 'customer' })
    : '<a token from your identity provider>';
  const consoleLink = key
    ? `${api}/console?token=${await signToken(key, { subject: 'operator', role: 'operator' })}`
    : `${api}/console   (sign in with an operator token from your identity provider)`;
  say(`Console      ${consoleLink}`);
  say('Tokens:      npm run token -- --customer <id>   or   npm run token -- --operator');
  say('Try it:');
  say(`  TOKEN=${token}`);
  say(`  curl -s -X POST ${api}/orders -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`);
  say(`    -d '{"items":[{"sku":"FUEL-95","quantity":2,"unitPrice":1050}],"paymentToken":"tok_approve"}'`);
  say(`  curl -s ${api}/orders -H "authorization: Bearer $TOKEN"`);
  say('Ctrl-C stops everything.');
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !stopping) {
    const ready = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not become ready within 120 s`);
}

main().catch((error: unknown) => {
  // Once everything is stopping, a step cut short (a readiness wait, a migration) is no failure of its own.
  if (stopping) return;
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
