// A Temporal cluster on one machine: N production servers (temporal-server, every service in each) on loopback aliases
// 127.0.0.2, 127.0.0.3, … with the same ports, over one PostgreSQL, forming one membership ring through it; HAProxy in
// front of their frontends is the only address clients are given. Any node can be killed and started again.
import { join } from 'node:path';
import { startLoadBalancer, type LoadBalancerHandle } from '../tools/haproxy';
import { freePort } from '../tools/net';
import { withClient } from '../tools/postgres';
import { eventually } from '../support/poll';
import {
  ensureNamespace,
  freeServerPorts,
  setupTemporalSchema,
  type TemporalPostgres,
} from '../tools/temporal-production';
import { LogFile } from './log-file';
import { productionBinaries, TemporalProductionServer } from './temporal-server';

/** A service of a node as the cluster's membership table has it (ringpop's bootstrap list, heartbeated). */
export interface Member {
  address: string;
  /** Temporal's service role: 1 frontend, 2 history, 3 matching, 4 worker. */
  role: number;
  sessionStartedAt: number;
  lastHeartbeatAt: number;
}

const SERVICES_PER_NODE = 4;

/** Node i (from 0) binds 127.0.0.(i + 2): every address of 127.0.0.0/8 reaches loopback on Linux without setup. */
export const nodeAddress = (i: number) => `127.0.0.${i + 2}`;

export class TemporalCluster {
  /** The load balancer's log; each node has its own (`logs` has them all). */
  readonly log: LogFile;
  /** Where clients reach the cluster: the load balancer. */
  readonly address: string;
  private balancer: LoadBalancerHandle | undefined;

  private constructor(
    private readonly postgres: TemporalPostgres,
    readonly nodes: readonly TemporalProductionServer[],
    /** Every node's frontend port, each on its own address. */
    private readonly frontendPort: number,
    private readonly balancerPort: number,
    private readonly runDir: string,
  ) {
    this.log = new LogFile(join(runDir, 'logs', 'haproxy.log'));
    this.address = `127.0.0.1:${balancerPort}`;
  }

  /** `runDir` holds the load balancer's config and a `logs/` directory for every log. */
  static async create(postgres: TemporalPostgres, count: number, runDir: string): Promise<TemporalCluster> {
    await productionBinaries(); // fails early, naming what is missing
    const ips = Array.from({ length: count }, (_, i) => nodeAddress(i));
    const ports = await freeServerPorts(ips);
    const nodes = await Promise.all(
      ips.map((ip, i) =>
        TemporalProductionServer.create(postgres, join(runDir, 'logs', `temporal-node-${i + 1}.log`), {
          ip,
          ports,
          setsUp: false,
          logLevel: 'info',
        }),
      ),
    );
    return new TemporalCluster(postgres, nodes, ports.FRONTEND_GRPC_PORT, await freePort(), runDir);
  }

  get logs(): LogFile[] {
    return [this.log, ...this.nodes.map((node) => node.log)];
  }

  /**
   * Schemas first (as the chart's schema job), then the first node alone, which writes the cluster's metadata on a new
   * database, then the others, the load balancer, and the namespace through it. Starts only what is not running.
   */
  async start(): Promise<void> {
    await setupTemporalSchema(await productionBinaries(), this.postgres);
    const [first, ...others] = this.nodes.filter((node) => !node.running);
    if (first) await first.start();
    await Promise.all(others.map((node) => node.start()));
    if (!this.balancer) {
      this.log.mark(`load balancer on ${this.address} → ${this.nodes.map((n) => n.address).join(', ')}`);
      this.balancer = await startLoadBalancer({
        host: '127.0.0.1',
        port: this.balancerPort,
        backends: this.nodes.map((node, i) => ({
          name: `node-${i + 1}`,
          host: nodeAddress(i),
          port: this.frontendPort,
        })),
        configPath: join(this.runDir, 'haproxy.cfg'),
        onOutput: (line) => this.log.write(line),
      });
      void this.balancer.exited.then((code) => this.log.mark(`load balancer exited (${code})`));
    }
    await ensureNamespace(this.address, 'default');
  }

  async members(): Promise<Member[]> {
    const { host, port, user, password } = this.postgres;
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/temporal`;
    return withClient(url, async (client) => {
      // TIMESTAMP columns in UTC: extract(epoch) reads them as such.
      const { rows } = await client.query<{ address: string; role: number; started: string; heartbeat: string }>(
        `SELECT rpc_address AS address, role, extract(epoch FROM session_start) * 1000 AS started,
                extract(epoch FROM last_heartbeat) * 1000 AS heartbeat FROM cluster_membership`,
      );
      return rows.map((r) => ({
        address: r.address,
        role: r.role,
        sessionStartedAt: Number(r.started),
        lastHeartbeatAt: Number(r.heartbeat),
      }));
    });
  }

  /** Resolves once every service of node `i` has joined the membership in a session begun at or after `since`. */
  async waitUntilJoined(i: number, since: number, timeoutMs = 60_000): Promise<void> {
    await eventually(
      `every service of ${nodeAddress(i)} to join the membership`,
      async () => {
        const joined = (await this.members()).filter(
          (m) => m.address === nodeAddress(i) && m.sessionStartedAt >= since,
        );
        return new Set(joined.map((m) => m.role)).size === SERVICES_PER_NODE ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Every node and the load balancer, cleanly. */
  async stop(): Promise<void> {
    await this.balancer?.stop();
    this.balancer = undefined;
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  killNow(): void {
    this.balancer?.killNow();
    for (const node of this.nodes) node.killNow();
  }
}
