// The Temporal dev server as its own process, its output in a log file, stoppable and restartable on its state file.
import { resolveTemporalCli } from '../../src/tools/temporal-cli';
import { startTemporalDevServer, type DevServerHandle } from '../../src/tools/temporal-server';
import { freePort } from '../support/ports';
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

export class TemporalDevServer {
  readonly log: LogFile;
  readonly address: string;
  private server: DevServerHandle | undefined;

  constructor(
    private readonly cliPath: string,
    private readonly port: number,
    private readonly dbFile: string,
    logPath: string,
  ) {
    this.log = new LogFile(logPath);
    this.address = `127.0.0.1:${port}`;
  }

  /** Resolves once the frontend accepts connections; the state file keeps every workflow and timer across starts. */
  async start(): Promise<void> {
    this.log.mark(`start on ${this.address}, state in ${this.dbFile}`);
    const server = await startTemporalDevServer({
      cliPath: this.cliPath,
      port: this.port,
      // The dev server exactly as `npm start` runs it, Web UI included; only the ports and the state file differ.
      uiPort: await freePort(),
      dbFile: this.dbFile,
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
