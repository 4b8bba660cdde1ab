// Starts one of the project's services (a worker, the API) as its own OS process, with its output prefixed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { prettyFactory } from 'pino-pretty';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process has ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

export interface ServiceOptions {
  name: string;
  /** A TypeScript entry point, run with tsx. */
  script: string;
  env: NodeJS.ProcessEnv;
  /** Node's own flags, before the script (the bench's --profile: `--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
  /** Where each output line goes; defaults to this process's stdout with a `[name]` prefix and readable logs. */
  onLine?: (line: string) => void;
}

const pretty = prettyFactory({
  colorize: false,
  singleLine: true,
  ignore: 'pid,hostname,name',
  translateTime: 'HH:MM:ss',
});

/** Pino's JSON lines made readable; anything else passes through. */
export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    return pretty(line).trimEnd();
  } catch {
    return line;
  }
}

export function startService({ name, script, env, nodeArgs = [], onLine }: ServiceOptions): ServiceProcess {
  const write = onLine ?? ((line: string) => process.stdout.write(`[${name}] ${readableLogLine(line)}\n`));
  // tsx as a loader in the same process (not its CLI, which runs a grandchild): a SIGKILL here kills the service itself.
  const child = spawn(process.execPath, [...nodeArgs, '--import', pathToFileURL(require.resolve('tsx')).href, script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', write);
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    name,
    child,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
