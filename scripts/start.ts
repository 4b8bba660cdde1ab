// `npm start`: the whole product in one terminal — embedded PostgreSQL and a Temporal dev server unless
// DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, migrations, both workers and the API. Ctrl-C stops it all.
import { join } from 'node:path';
import { signToken, loadOrCreateSigningKey } from '../src/api/auth-keys';
import { loadConfig } from '../src/config';
import { createDb, migrateLatest } from '../src/db/knex';
import {
  LOCAL_TEMPORAL_UI_PORT,
  startLocalDatabase,
  localCodecEndpoint,
  startLocalTemporal,
  type Stoppable,
} from '../dev/tools/local-stack';
import { startService, type ServiceProcess } from '../dev/tools/service-process';

const root = join(__dirname, '..');
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

const servers: Stoppable[] = [];
const services: ServiceProcess[] = [];
let stopping = false;

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(services.map((service) => service.stop()));
  for (const server of servers.reverse()) await server.stop();
  say('stopped');
  process.exit(exitCode);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  const config = loadConfig();

  if (!process.env.DATABASE_URL)
    servers.push(await startLocalDatabase({ root, port: config.EMBEDDED_PG_PORT, log: say }));
  if (!process.env.TEMPORAL_ADDRESS) {
    const uiCodecEndpoint = await localCodecEndpoint(config);
    servers.push(await startLocalTemporal({ root, log: say, uiCodecEndpoint }));
  }

  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  const applied = await migrateLatest(db).finally(() => db.destroy());
  say(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');

  const env = {
    ...process.env,
    DATABASE_URL: config.DATABASE_URL,
    TEMPORAL_ADDRESS: config.temporal.connectionOptions.address,
  };
  for (const [name, script] of [
    ['orders', 'src/workers/orders/main.ts'],
    ['payments', 'src/workers/payments/main.ts'],
    ['api', 'src/api/server.ts'],
  ] as const) {
    const service = startService({ name, script: join(root, script), env });
    services.push(service);
    void service.exited.then((code) => {
      if (stopping) return;
      say(`${name} exited unexpectedly (${code}); stopping everything`);
      void stopAll(1);
    });
  }

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
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
