// The API as its own process: a port it cannot bind stops it with the one line that says so, and nothing claims it
// listens.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../../dev/tools/service-process';

it('stops with "api cannot listen" naming EADDRINUSE when its port is taken, never saying it listens', async () => {
  const taken = createServer();
  taken.listen(0);
  await once(taken, 'listening');
  const dir = await mkdtemp(join(tmpdir(), 'api-process-'));
  const lines: string[] = [];
  try {
    const api = startService({
      name: 'api',
      script: join(__dirname, '..', '..', 'src', 'api', 'server.ts'),
      env: {
        PATH: process.env.PATH,
        PORT: String((taken.address() as { port: number }).port),
        // Neither needs to answer: the API listens before it waits for them.
        DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/orders',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        AUTH_KEY_FILE: join(dir, 'signing-key.json'),
        PAYLOAD_KEYS_FILE: join(dir, 'payload-keys.json'),
        LOG_LEVEL: 'info',
      },
      onLine: (line) => lines.push(line),
    });
    expect(await api.exited).toBe(1);
    const messages = lines.flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as { msg: string }] : []));
    expect(messages.filter((m) => m.msg === 'api cannot listen')).toHaveLength(1);
    expect(lines.join('\n')).toContain('EADDRINUSE');
    expect(messages.filter((m) => m.msg === 'api listening')).toEqual([]);
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});
