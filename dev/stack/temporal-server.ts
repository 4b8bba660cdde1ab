// The Temporal server as its own process, its output in a log file, stoppable and restartable on its state: the dev
// server (state in a file) or the production server (state in PostgreSQL).
import { resolveTemporalCli } from '../tools/temporal-cli';
import {
  ensureNamespace,
  freeServerPorts,
  resolveTemporalServer,
  setupTemporalSchema,
  startTemporalServer,
  TEMPORAL_SERVER_VERSION,
  type TemporalPostgres,
  type TemporalServerBinaries,
  type TemporalServerHandle,
  type TemporalServerPorts,
} from '../tools/temporal-production';
import { startTemporalDevServer, type DevServerHandle, type DynamicConfigValues } from '../tools/temporal-server';
import { LogFile } from './log-file';

export async function findTemporalCli(): Promise<string> {
  const cli = await resolveTemporalCli({ build: false });
  if (!cli) {
    throw new Error(
      'the e2e tier needs the `temporal` CLI (TEMPORAL_CLI, PATH or the tools cache): run `npm run tools` once',
    );
  }
  return cli.path;
}

/** The dev server's Web UI: its port, the same across restarts, and the codec endpoint it decodes payloads with. */
export interface DevServerUi {
  port: number;
  codecEndpoint: string;
}

export class TemporalDevServer {
  readonly log: LogFile;
  readonly address: string;
  readonly uiUrl: string;
  private server: DevServerHandle | undefined;

  constructor(
    private readonly cliPath: string,
    private readonly port: number,
    private readonly dbFile: string,
    logPath: string,
    private readonly ui: DevServerUi,
    private readonly pprofPort?: number,
    /** A test's own dynamic config, beyond the settings `npm start` runs with. */
    private readonly dynamicConfig?: DynamicConfigValues,
  ) {
    this.log = new LogFile(logPath);
    this.address = `127.0.0.1:${port}`;
    this.uiUrl = `http://127.0.0.1:${ui.port}`;
  }

  /** Resolves once the frontend accepts connections; the state file keeps every workflow and timer across starts. */
  async start(): Promise<void> {
    this.log.mark(`start on ${this.address}, state in ${this.dbFile}`);
    const server = await startTemporalDevServer({
      cliPath: this.cliPath,
      port: this.port,
      // The dev server exactly as `npm start` runs it, Web UI and its codec endpoint included; only the ports, the
      // state file and the codec endpoint's address differ.
      uiPort: this.ui.port,
      uiCodecEndpoint: this.ui.codecEndpoint,
      dynamicConfig: this.dynamicConfig,
      dbFile: this.dbFile,
      pprofPort: this.pprofPort,
      onOutput: (line) => this.log.write(line),
    }).catch((error: Error) => {
      throw new Error(`Temporal dev server did not start: ${error.message}; see ${this.log.path}`);
    });
    this.server = server;
    void server.exited.then((code) => this.log.mark(`exited (${code})`));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.log.mark('stop');
    await this.server.stop();
    this.server = undefined;
  }

  /** For the last-resort cleanup when the test process exits: synchronous. */
  killNow(): void {
    this.server?.killNow();
  }
}

export interface ProductionServerOptions {
  /** The address it binds, 127.0.0.1 unless given; each node of a cluster has a loopback alias of its own. */
  ip?: string;
  /** Free ports chosen for it unless given; the nodes of a cluster share theirs, each on its own address. */
  ports?: TemporalServerPorts;
  /** Whether start() also sets up the schemas and the namespace, as for a lone server (default); a cluster does it once. */
  setsUp?: boolean;
  /** The server's own log level (default warn); a cluster's nodes log at info, which shows membership and shards move. */
  logLevel?: 'info' | 'warn';
  /** A dynamic config file in place of deploy/'s (writeDynamicConfig adds a test's settings to deploy/'s). */
  dynamicConfigPath?: string;
  /** Serve Go's pprof on this loopback port (the bench's --profile). */
  pprofPort?: number;
}

/** The production server (temporal-server on PostgreSQL, the one docker-compose runs), as the e2e tier drives it. */
export class TemporalProductionServer {
  readonly log: LogFile;
  readonly address: string;
  private server: TemporalServerHandle | undefined;

  private constructor(
    private readonly binaries: TemporalServerBinaries,
    private readonly postgres: TemporalPostgres,
    private readonly ip: string,
    private readonly ports: TemporalServerPorts,
    private readonly setsUp: boolean,
    private readonly logLevel: 'info' | 'warn',
    logPath: string,
    private readonly dynamicConfigPath: string | undefined,
    private readonly pprofPort?: number,
  ) {
    this.log = new LogFile(logPath);
    this.address = `${ip}:${ports.FRONTEND_GRPC_PORT}`;
  }

  static async create(
    postgres: TemporalPostgres,
    logPath: string,
    {
      ip = '127.0.0.1',
      ports,
      setsUp = true,
      logLevel = 'warn',
      dynamicConfigPath,
      pprofPort,
    }: ProductionServerOptions = {},
  ): Promise<TemporalProductionServer> {
    const binaries = await productionBinaries();
    const chosen = ports ?? (await freeServerPorts());
    return new TemporalProductionServer(
      binaries,
      postgres,
      ip,
      chosen,
      setsUp,
      logLevel,
      logPath,
      dynamicConfigPath,
      pprofPort,
    );
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** The first start sets up the schemas and the namespace (as compose's one-shot jobs do); later ones find them. */
  async start(): Promise<void> {
    this.log.mark(`start on ${this.address}, persisting in PostgreSQL on port ${this.postgres.port}`);
    if (this.setsUp) await setupTemporalSchema(this.binaries, this.postgres);
    const server = await startTemporalServer({
      binaries: this.binaries,
      postgres: this.postgres,
      ip: this.ip,
      ports: this.ports,
      pprofPort: this.pprofPort,
      logLevel: this.logLevel,
      dynamicConfigPath: this.dynamicConfigPath,
      onOutput: (line) => this.log.write(line),
    }).catch((error: Error) => {
      throw new Error(`temporal-server did not start: ${error.message}; see ${this.log.path}`);
    });
    this.server = server;
    void server.exited.then((code) => this.log.mark(`exited (${code})`));
    if (this.setsUp) await ensureNamespace(this.address, 'default');
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.log.mark('stop');
    await this.server.stop();
    this.server = undefined;
  }

  /** The crash: SIGKILL, nothing flushed or handed over. */
  async kill(): Promise<void> {
    if (!this.server) return;
    this.log.mark('SIGKILL');
    await this.server.kill();
    this.server = undefined;
  }

  killNow(): void {
    this.server?.killNow();
  }
}

export async function productionBinaries(): Promise<TemporalServerBinaries> {
  const binaries = await resolveTemporalServer({ build: false });
  if (!binaries) {
    throw new Error(
      `the production Temporal server needs temporal-server ${TEMPORAL_SERVER_VERSION} in the tools cache: run \`npm run tools\` once`,
    );
  }
  return binaries;
}
