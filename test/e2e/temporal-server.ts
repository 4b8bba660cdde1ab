// The Temporal dev server as its own process, its output in a log file, stoppable and restartable on its state file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TypedSearchAttributes } from '@temporalio/common';
import { waitForPort } from '../../src/tools/net';
import { resolveTemporalCli } from '../../src/tools/temporal-cli';
import { orderSearchAttributes } from '../../src/tools/temporal-server';
import { LogFile } from './log-file';

const START_TIMEOUT_MS = 60_000;

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
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly cliPath: string,
    private readonly port: number,
    private readonly dbFile: string,
    logPath: string,
  ) {
    this.log = new LogFile(logPath);
    this.address = `127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the frontend accepts connections; the state file keeps every workflow and timer across starts. */
  async start(): Promise<void> {
    this.log.mark(`start on ${this.address}, state in ${this.dbFile}`);
    const searchAttributes = orderSearchAttributes.flatMap(({ name, type }) => [
      '--search-attribute',
      `${name}=${TypedSearchAttributes.toMetadataType(type)}`,
    ]);
    const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(this.port)]
      .concat(['--db-filename', this.dbFile, '--log-level', 'warn'])
      // WAL without fsync per commit: what the OS has been handed survives a crash of the server process, which is
      // the fault under test; durability against a machine crash is not, and it costs most of the throughput.
      .concat(['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=off'])
      .concat(searchAttributes);
    const child = spawn(this.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on('line', (l) => this.log.write(l));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.log.mark(`exited (${code ?? signal})`);
        resolve();
      });
    });
    await waitForPort('127.0.0.1', this.port, START_TIMEOUT_MS, () => !this.running).catch(async (error: Error) => {
      await this.stop();
      throw new Error(`Temporal dev server did not start: ${error.message}; see ${this.log.path}`);
    });
  }

  /** SIGTERM (a clean stop that flushes the state file), SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (!this.child || !this.running) return;
    this.log.mark('stop');
    const child = this.child;
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited.finally(() => clearTimeout(forced));
  }

  /** For the last-resort cleanup when the test process exits: synchronous. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }
}
