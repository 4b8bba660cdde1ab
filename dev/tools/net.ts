import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export { freePort } from '../../src/net';

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
