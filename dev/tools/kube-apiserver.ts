// A real Kubernetes API server on loopback (etcd + kube-apiserver, no nodes, no controllers), for server-side
// dry runs of the Helm chart: admission and validation exactly as a cluster of that version does them.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net';

export interface KubeApiServerOptions {
  apiserver: string;
  etcd: string;
  /** Holds etcd's data, the certificates, the token file and the kubeconfig; the caller removes it. */
  workDir: string;
  /** Each output line of etcd and the API server, for a failure's diagnosis. */
  onOutput?: (line: string) => void;
}

export interface KubeApiServer {
  url: string;
  kubeconfig: string;
  stop(): Promise<void>;
}

export async function startKubeApiServer(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const { workDir } = opts;
  await mkdir(join(workDir, 'certs'), { recursive: true });
  const [etcdClientPort, etcdPeerPort, apiPort] = await distinctFreePorts(3);
  const processes: ChildProcess[] = [];
  const stop = async () => {
    for (const child of processes.reverse()) await stopProcess(child);
  };
  try {
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    processes.push(
      launch(
        opts.etcd,
        [
          '--name=check',
          `--data-dir=${join(workDir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=check=${peerUrl}`,
          // A throwaway store: durability buys nothing and costs seconds on a busy disk.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        opts.onOutput,
      ),
    );
    await waitFor(() => fetchOk(`${etcdUrl}/health`), 'etcd', 30_000, processes);

    const token = randomBytes(24).toString('hex');
    const tokenFile = join(workDir, 'tokens.csv');
    // token,user,uid,"groups": system:masters passes every RBAC check.
    await writeFile(tokenFile, `${token},check-admin,check-admin,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPublic = join(workDir, 'certs', 'sa.pub');
    const saPrivate = join(workDir, 'certs', 'sa.key');
    await writeFile(saPublic, publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(saPrivate, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

    processes.push(
      launch(
        opts.apiserver,
        [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          // A self-signed serving certificate is generated here; the kubeconfig skips its verification.
          `--cert-dir=${join(workDir, 'certs')}`,
          `--token-auth-file=${tokenFile}`,
          '--authorization-mode=RBAC',
          `--service-account-key-file=${saPublic}`,
          `--service-account-signing-key-file=${saPrivate}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          // Only allocated in etcd: nothing routes to this range.
          '--service-cluster-ip-range=10.96.0.0/16',
          // No nodes and no kubernetes Service endpoints to keep: the server only answers requests.
          '--endpoint-reconciler-type=none',
          '--profiling=false',
          '--v=0',
        ],
        opts.onOutput,
      ),
    );
    const url = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(workDir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigText(url, token), { mode: 0o600 });
    await waitFor(() => readyz(url, token), 'kube-apiserver', 120_000, processes);
    return { url, kubeconfig, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function kubeconfigText(url: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'check', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'check-admin', user: { token } }],
    contexts: [{ name: 'check', context: { cluster: 'check', user: 'check-admin', namespace: 'default' } }],
    'current-context': 'check',
  });
}

function launch(command: string, args: string[], onOutput?: (line: string) => void): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) onOutput?.(line);
    });
  }
  // A spawn failure (a missing binary) shows as an exit; waitFor reports it.
  child.on('error', () => undefined);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(
  ready: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  processes: ChildProcess[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    const dead = processes.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead) throw new Error(`${what}: ${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

function fetchOk(url: string): Promise<boolean> {
  return fetch(url).then(
    (res) => res.ok,
    () => false,
  );
}

/** The API server's /readyz, over its self-signed certificate (verification off for this call only). */
function readyz(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
