// No credential in any log of a scenario's stack: every API still running is called once more with a fresh token in
// each place a client puts one (a header, the codec endpoint's path, the console's query), the stack is stopped, and
// every log file it wrote is searched for each credential it minted or holds.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stack } from '../../dev/stack/stack';

async function probeWithCredentials(stack: Stack): Promise<void> {
  for (const [i, api] of stack.apis.entries()) {
    if (!api.running) continue;
    const token = await stack.token({ subject: 'e2e-log-probe', role: 'operator' });
    const url = stack.apiUrls[i];
    const answers = await Promise.all([
      fetch(`${url}/console?token=${token}`),
      fetch(`${url}/codec/t/${token}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `session=${token}` },
        body: JSON.stringify({ payloads: [] }),
      }),
      fetch(`${url}/orders?limit=1`, { headers: { authorization: `Bearer ${token}` } }),
    ]);
    const statuses = answers.map((answer) => answer.status);
    if (statuses.some((status) => status !== 200)) throw new Error(`credential probes of ${api.name}: ${statuses}`);
  }
}

/** Stops the stack; throws naming each log file that holds one of its credentials (never the credential itself). */
export async function stopAndSearchLogs(stack: Stack): Promise<void> {
  await probeWithCredentials(stack).finally(() => stack.stop());
  const credentials = stack.credentials();
  const leaks: string[] = [];
  for (const file of await readdir(stack.logDir)) {
    const text = await readFile(join(stack.logDir, file), 'utf8');
    for (const [i, credential] of credentials.entries()) {
      if (text.includes(credential)) leaks.push(`${file} holds credential #${i} (${credential.slice(0, 6)}…)`);
    }
  }
  if (leaks.length > 0) throw new Error(`credentials in the stack's logs (${stack.logDir}):\n${leaks.join('\n')}`);
}
