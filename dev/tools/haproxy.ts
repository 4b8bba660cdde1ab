// A real TCP load balancer (HAProxy, Debian's package) in front of several servers, as a Kubernetes Service or a cloud
// load balancer stands in front of Temporal's frontends: connection-level balancing, TCP health checks, a connection
// that cannot reach its server sent to another one.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { findOnPath, isExecutable, supervise } from './exec';
import { waitForPort } from './net';

export interface Backend {
  name: string;
  host: string;
  port: number;
}

export interface LoadBalancerOptions {
  /** Where the load balancer listens. */
  host: string;
  port: number;
  backends: readonly Backend[];
  /** The configuration file it is started with (written here). */
  configPath: string;
  /** Each line HAProxy prints (server state changes among them). */
  onOutput: (line: string) => void;
}

export interface LoadBalancerHandle {
  address: string;
  exited: Promise<number>;
  stop(): Promise<void>;
  killNow(): void;
}

/** Health checks every 500 ms; two failures take a server out, two successes put it back. */
export const HEALTH_CHECK = { intervalMs: 500, fall: 2, rise: 2 } as const;

export async function findHaproxy(): Promise<string | undefined> {
  // Debian installs it under /usr/sbin, which a non-root PATH may lack.
  return (await findOnPath('haproxy')) ?? ((await isExecutable('/usr/sbin/haproxy')) ? '/usr/sbin/haproxy' : undefined);
}

function haproxyConfig({ host, port, backends }: Pick<LoadBalancerOptions, 'host' | 'port' | 'backends'>): string {
  const { intervalMs, fall, rise } = HEALTH_CHECK;
  return [
    'global',
    '    log stderr format iso local0 notice',
    'defaults',
    '    mode tcp',
    '    log global',
    '    timeout connect 1s',
    // gRPC connections are long-lived and carry long polls of about a minute; the SDKs' keepalive pings keep them busy.
    '    timeout client 10m',
    '    timeout server 10m',
    // A connection whose server refuses it is retried on another server, not failed back to the client.
    '    retries 3',
    '    option redispatch 1',
    'frontend temporal-frontend',
    `    bind ${host}:${port}`,
    '    default_backend temporal-frontends',
    'backend temporal-frontends',
    '    balance roundrobin',
    // A server marked down has its open connections cut, so their clients reconnect to a live one at once.
    `    default-server check inter ${intervalMs}ms fall ${fall} rise ${rise} on-marked-down shutdown-sessions`,
    ...backends.map((b) => `    server ${b.name} ${b.host}:${b.port}`),
    '',
  ].join('\n');
}

export async function startLoadBalancer(opts: LoadBalancerOptions): Promise<LoadBalancerHandle> {
  const haproxy = await findHaproxy();
  if (!haproxy) throw new Error('haproxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)');
  await writeFile(opts.configPath, haproxyConfig(opts));
  // -db: stay in the foreground, logging to stderr; no daemon to lose track of.
  const child = spawn(haproxy, ['-db', '-f', opts.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited, stop: stopWithin, killNow } = supervise(child, opts.onOutput);
  // SIGTERM is HAProxy's hard stop: open connections are closed at once (a soft stop would wait out every poll).
  const stop = () => stopWithin(5_000);
  try {
    await Promise.race([
      waitForPort(opts.host, opts.port, 10_000),
      exited.then((code) => Promise.reject(new Error(`haproxy exited with ${code}`))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: `${opts.host}:${opts.port}`, exited, stop, killNow };
}
