import { randomInt } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort as kernelChosenPort } from '../../src/net';

/** Ports this process has given out. */
const given = new Set<number>();

/**
 * A port free on every interface a moment ago, for a server a test or the stack starts on it. Drawn below Linux's
 * ephemeral range (32768–60999), not by the kernel from it: there an outgoing connection of any process may take
 * the port between this choice and the server's bind (an e2e API met EADDRINUSE so in CI).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = randomInt(20_000, 32_768);
    // Never the same port twice to this process: one it gave may not be bound yet.
    if (given.has(port) || !(await portIsFree(port, '0.0.0.0'))) continue;
    given.add(port);
    return port;
  }
  return kernelChosenPort();
}

/** Whether `port` on `host` (a loopback address) can be bound now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  gaveUp?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(host, port))) {
    if (gaveUp?.()) throw new Error(`${host}:${port} will not open: the process exited`);
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
    await sleep(50);
  }
}
