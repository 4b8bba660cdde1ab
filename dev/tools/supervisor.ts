// Keeps `npm start`'s children alive: a child that exits on its own is started again after a backoff, said in one
// line. A crash loop (too many exits in a row, each within a window of its start) or a bad configuration (exit
// code 2: it would only fail again) stops everything instead, naming the child and its last lines.

/** A started child: resolves `exited` with its exit code (or signal name) when it ends on its own or is stopped. */
export interface RunningChild {
  exited: Promise<number | string>;
  stop(): Promise<unknown>;
}

export interface ChildSpec {
  name: string;
  start(): Promise<RunningChild>;
  /** The child's most recent output lines, for the reason of a crash. */
  lastLines(): string[];
  /**
   * Whether exit code 2 means the child stopped on its configuration (the project's services do). Not for a server
   * of other make: a Go program's panic also exits 2, and that is a crash to restart.
   */
  exitsTwoOnBadConfiguration?: boolean;
}

export interface SupervisorPolicy {
  /**
   * This many exits in a row, each within `windowMs` of the child's start, is a crash loop. Counted per run rather
   * than per clock window, so a child that takes long to boot (a loaded machine) is caught all the same; a run that
   * lasted longer starts the count again.
   */
  maxExits: number;
  windowMs: number;
  /** The first restart waits `firstMs`, each further one in a row twice as long, up to `maxMs`. */
  backoff: { firstMs: number; maxMs: number };
}

export const DEFAULT_POLICY: SupervisorPolicy = {
  maxExits: 5,
  windowMs: 60_000,
  backoff: { firstMs: 1_000, maxMs: 10_000 },
};

/** The exit code of a process that stopped on its configuration (src/config.ts, src/dependencies.ts). */
export const BAD_CONFIGURATION_EXIT = 2;

export interface SupervisorEvents {
  say(line: string): void;
  /** Everything must stop: a crash loop or a bad configuration, with the lines that say why. */
  giveUp(reason: string): void;
}

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`);

export class Supervisor {
  private stopping = false;
  private readonly running = new Map<string, RunningChild>();
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();
  /** Starts under way: a child they bring once everything is stopping must be stopped too. */
  private readonly starting = new Set<Promise<RunningChild>>();

  constructor(
    private readonly events: SupervisorEvents,
    private readonly policy: SupervisorPolicy = DEFAULT_POLICY,
  ) {}

  /** Starts the child and keeps it running until stopAll() (nothing once halted); rejects if its first start fails. */
  async supervise(spec: ChildSpec): Promise<void> {
    let exitsInARow = 0;
    const watch = (child: RunningChild) => {
      const startedAt = Date.now();
      this.running.set(spec.name, child);
      void child.exited.then((code) => {
        this.running.delete(spec.name);
        if (this.stopping) return;
        exitsInARow = Date.now() - startedAt < this.policy.windowMs ? exitsInARow + 1 : 1;
        const lastLine = spec.lastLines().at(-1);
        const why = `exited (${code})${lastLine ? `: ${lastLine}` : ''}`;
        if (spec.exitsTwoOnBadConfiguration && code === BAD_CONFIGURATION_EXIT) {
          this.events.giveUp(`${spec.name} stopped on its configuration; stopping everything.${tail(spec)}`);
          return;
        }
        if (exitsInARow >= this.policy.maxExits) {
          this.events.giveUp(
            `${spec.name} exited ${exitsInARow} times in a row, each within ${seconds(this.policy.windowMs)} of its start; stopping everything.${tail(spec)}`,
          );
          return;
        }
        const delay = Math.min(this.policy.backoff.firstMs * 2 ** (exitsInARow - 1), this.policy.backoff.maxMs);
        this.events.say(`${spec.name} ${why}; restarting it in ${seconds(delay)}`);
        const timer = setTimeout(() => {
          this.pendingRestarts.delete(timer);
          if (this.stopping) return;
          this.start(spec).then(watch, (error: unknown) => {
            this.events.giveUp(`${spec.name} could not be started again: ${String(error)}${tail(spec)}`);
          });
        }, delay);
        this.pendingRestarts.add(timer);
      });
    };
    if (this.stopping) return;
    watch(await this.start(spec));
  }

  private start(spec: ChildSpec): Promise<RunningChild> {
    const started = spec.start();
    this.starting.add(started);
    const settled = () => this.starting.delete(started);
    void started.then(settled, settled);
    return started;
  }

  /** From now on an exit is expected: nothing is restarted (a terminal's Ctrl-C reaches every child at once). */
  halt(): void {
    this.stopping = true;
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    this.pendingRestarts.clear();
  }

  /** Stops every child that is running or being started (in parallel) and cancels pending restarts. */
  async stopAll(): Promise<void> {
    this.halt();
    const late = await Promise.allSettled([...this.starting]);
    const children = new Set(this.running.values());
    for (const start of late) if (start.status === 'fulfilled') children.add(start.value);
    await Promise.all([...children].map((child) => child.stop()));
  }
}

function tail(spec: ChildSpec): string {
  const lines = spec.lastLines();
  return lines.length > 0 ? ` Its last lines:\n${lines.map((line) => `    ${line}`).join('\n')}` : '';
}
