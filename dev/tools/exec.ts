// Process and file helpers shared by the tool installers and the server launchers.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createInterface } from 'node:readline';
import { access, chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';

export type Log = (message: string) => void;

export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Runs a command to completion; a failure carries the tail of its output, which is where the reason is. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(output)
        : reject(
            new Error(
              `${basename(command)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-3000)}`,
            ),
          ),
    );
  });
}

/**
 * Fills `dir` through `build(tmpDir)` in a sibling temp dir renamed into place, so a killed build never leaves a
 * half-made tool behind. `marker` (a path inside `dir`) exists only in a finished install.
 */
export async function installAtomically(
  dir: string,
  marker: string,
  build: (tmpDir: string) => Promise<void>,
): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmpDir = await mkdtemp(`${dir}.tmp-`);
  try {
    await build(tmpDir);
    await chmod(tmpDir, 0o755); // mkdtemp makes it private
    // A leftover without its marker is debris from an older, non-atomic install.
    if (!(await isExecutable(join(dir, marker)))) await rm(dir, { recursive: true, force: true });
    await rename(tmpDir, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished the same install first; theirs is as good as ours.
      if ((error.code === 'ENOTEMPTY' || error.code === 'EEXIST') && (await isExecutable(join(dir, marker)))) return;
      throw error;
    });
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** A long-running server process as its launcher controls it. */
export interface Supervised {
  /** The exit code, or 128 + the signal's number. */
  exited: Promise<number>;
  running(): boolean;
  /** SIGTERM, SIGKILL after `graceMs` if it hangs; resolves once it is gone. */
  stop(graceMs: number): Promise<void>;
  /** The crash: SIGKILL, resolved once it is gone. */
  kill(): Promise<void>;
  /** SIGKILL at once, synchronously: for the last-resort cleanup of an exiting process. */
  killNow(): void;
}

/** Supervises a spawned server; with `onOutput`, each line of its stdout and stderr (spawned as pipes) goes there. */
export function supervise(child: ChildProcess, onOutput?: (line: string) => void): Supervised {
  if (onOutput) {
    for (const stream of [child.stdout, child.stderr])
      if (stream) createInterface({ input: stream }).on('line', onOutput);
  }
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    exited,
    running,
    async stop(graceMs) {
      if (running()) child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited.finally(() => clearTimeout(forced));
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    killNow() {
      if (running()) child.kill('SIGKILL');
    },
  };
}
