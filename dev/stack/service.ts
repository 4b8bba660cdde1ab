// A process of the stack (a worker, the API, PostgreSQL's supervisor), which the harness starts, kills and restarts.
import { startService, type ServiceProcess } from '../tools/service-process';
import { LogFile } from './log-file';

export interface ServiceSpec {
  name: string;
  /** The TypeScript entry point, run with tsx. */
  script: string;
  /** How the `msg` of the log line that says the service is up begins. */
  readyMessage: string;
  /** Node's own flags for the process (the bench's --profile). */
  nodeArgs?: string[];
  /** Where the service answers readiness (/readyz), when it has such a port. */
  readinessUrl?: string;
}

export interface StartOptions {
  /** Another line to wait for than the spec's, e.g. `waiting for temporal` for a start during an outage. */
  readyMessage?: string;
}

const READY_TIMEOUT_MS = 60_000;

export class ManagedService {
  readonly log: LogFile;
  /** Exits the harness did not cause: a crash of the process's own. */
  readonly unexpectedExits: string[] = [];
  private process: ServiceProcess | undefined;
  private expectingExit = false;
  private currentLines: string[] = [];

  constructor(
    private readonly spec: ServiceSpec,
    logPath: string,
    private env: NodeJS.ProcessEnv,
  ) {
    this.log = new LogFile(logPath);
  }

  get name(): string {
    return this.spec.name;
  }

  get readinessUrl(): string | undefined {
    return this.spec.readinessUrl;
  }

  /** The raw output lines of the current run (since the last start). */
  get lines(): readonly string[] {
    return this.currentLines;
  }

  get running(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Starts the process (with `env` changed from now on) and resolves with the milliseconds until it was ready. */
  async start(
    env: NodeJS.ProcessEnv = {},
    { readyMessage = this.spec.readyMessage }: StartOptions = {},
  ): Promise<number> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.env = { ...this.env, ...env };
    this.log.mark(`start${Object.keys(env).length > 0 ? ` with ${JSON.stringify(env)}` : ''}`);
    const startedAt = Date.now();
    const lines: string[] = [];
    this.currentLines = lines;
    const record = (line: string) => {
      lines.push(line);
      this.log.write(line);
    };
    let onLine: (line: string) => void = record;
    const started = startService({
      name: this.name,
      script: this.spec.script,
      nodeArgs: this.spec.nodeArgs,
      env: this.env,
      onLine: (l) => onLine(l),
    });
    this.process = started;
    this.expectingExit = false;
    void started.exited.then((code) => {
      this.log.mark(`exited (${code})`);
      if (!this.expectingExit) this.unexpectedExits.push(`${this.name} exited on its own (${code})`);
    });
    // Output arrives on later ticks, so nothing is missed before the handler below is in place.
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name} not ready within ${READY_TIMEOUT_MS} ms; see ${this.log.path}`)),
        READY_TIMEOUT_MS,
      );
      onLine = (line) => {
        record(line);
        if (line.includes(`"msg":"${readyMessage}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      void started.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before it was ready; see ${this.log.path}`));
      });
    });
    try {
      await ready;
    } catch (error) {
      await this.kill();
      throw error;
    }
    return Date.now() - startedAt;
  }

  /** A clean stop, then a start with `env` changed from now on. */
  async restart(env: NodeJS.ProcessEnv = {}): Promise<number> {
    await this.stop();
    return this.start(env);
  }

  /** The crash: SIGKILL, no chance to drain or close anything. */
  async kill(): Promise<void> {
    if (!this.process || !this.running) return;
    this.expectingExit = true;
    this.log.mark('SIGKILL');
    this.process.kill('SIGKILL');
    await this.process.exited;
  }

  /** A clean stop (SIGTERM, SIGKILL after a grace period). */
  async stop(): Promise<void> {
    if (!this.process || !this.running) return;
    this.expectingExit = true;
    this.log.mark('stop');
    await this.process.stop(10_000);
  }

  /** For the last-resort cleanup when the test process exits: synchronous. */
  killNow(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.process?.child.kill(signal);
  }
}
