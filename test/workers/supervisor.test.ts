// `npm start`'s supervisor: which exits it restarts, with what backoff, and when it gives up (fake children here;
// test/e2e/npm-start.test.ts runs the real command).
import { eventually } from '../../dev/support/poll';
import { Supervisor, type ChildSpec, type RunningChild } from '../../dev/tools/supervisor';

class FakeChild implements RunningChild {
  stopped = false;
  private end!: (code: number | string) => void;
  readonly exited = new Promise<number | string>((resolve) => (this.end = resolve));

  exit(code: number | string): void {
    this.end(code);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.exit('SIGTERM');
    await this.exited;
  }
}

function fakeSpec(name: string, { exitsTwoOnBadConfiguration = true } = {}) {
  const children: FakeChild[] = [];
  const spec: ChildSpec = {
    name,
    exitsTwoOnBadConfiguration,
    lastLines: () => [`${name} line ${children.length}`],
    start: async () => {
      const child = new FakeChild();
      children.push(child);
      return child;
    },
  };
  return { spec, children };
}

/** A spec whose starts take until `finish()`: a server that is still coming up. */
function slowSpec(name: string) {
  const { spec, children } = fakeSpec(name);
  const finishes: (() => void)[] = [];
  const start = spec.start;
  spec.start = () =>
    new Promise<FakeChild>((resolve) => finishes.push(() => void start().then((c) => resolve(c as FakeChild))));
  return { spec, children, finishNext: () => finishes.shift()!(), startsWaiting: () => finishes.length };
}

function recorder() {
  const said: string[] = [];
  const gaveUp: string[] = [];
  return {
    said,
    gaveUp,
    events: { say: (line: string) => said.push(line), giveUp: (why: string) => gaveUp.push(why) },
  };
}

const policy = { maxExits: 3, windowMs: 60_000, backoff: { firstMs: 20, maxMs: 40 } };

describe('npm start supervisor', () => {
  it('restarts a child that exits on its own, saying which, why and when, with a growing backoff', async () => {
    const { said, gaveUp, events } = recorder();
    const supervisor = new Supervisor(events, policy);
    const { spec, children } = fakeSpec('payments');
    await supervisor.supervise(spec);

    children[0].exit(1);
    await eventually('a second start', () => (children.length === 2 ? true : undefined));
    children[1].exit('SIGKILL');
    await eventually('a third start', () => (children.length === 3 ? true : undefined));

    expect(said).toEqual([
      'payments exited (1): payments line 1; restarting it in 20 ms',
      'payments exited (SIGKILL): payments line 2; restarting it in 40 ms',
    ]);
    expect(gaveUp).toEqual([]);
    await supervisor.stopAll();
    expect(children[2].stopped).toBe(true);
  });

  it('gives up on a crash loop, naming the child and its last lines', async () => {
    const { said, gaveUp, events } = recorder();
    const supervisor = new Supervisor(events, policy);
    const { spec, children } = fakeSpec('orders');
    await supervisor.supervise(spec);
    for (let exit = 1; exit <= policy.maxExits; exit += 1) {
      await eventually(`start ${exit}`, () => (children.length === exit ? true : undefined));
      children[exit - 1].exit(1);
    }
    await eventually('the supervisor to give up', () => (gaveUp.length > 0 ? true : undefined));

    expect(said).toHaveLength(policy.maxExits - 1);
    expect(gaveUp).toEqual([
      'orders exited 3 times in a row, each within 60 s of its start; stopping everything. Its last lines:\n    orders line 3',
    ]);
    expect(children).toHaveLength(policy.maxExits);
  });

  it('counts exits in a row only: a run that outlasted the window starts the count again', async () => {
    jest.useFakeTimers();
    try {
      const { said, gaveUp, events } = recorder();
      const supervisor = new Supervisor(events, policy);
      const { spec, children } = fakeSpec('payments');
      await supervisor.supervise(spec);
      children[0].exit(1);
      await jest.advanceTimersByTimeAsync(policy.backoff.firstMs);
      children[1].exit(1);
      await jest.advanceTimersByTimeAsync(policy.backoff.maxMs);
      await jest.advanceTimersByTimeAsync(policy.windowMs + 1_000); // the third run lasts longer than the window
      children[2].exit(1);
      await jest.advanceTimersByTimeAsync(policy.backoff.firstMs);

      expect(gaveUp).toEqual([]);
      expect(children).toHaveLength(4);
      expect(said.at(-1)).toBe('payments exited (1): payments line 3; restarting it in 20 ms');
      await supervisor.stopAll();
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives up at once on a bad configuration (exit code 2): it would only fail again', async () => {
    const { said, gaveUp, events } = recorder();
    const supervisor = new Supervisor(events, policy);
    const { spec, children } = fakeSpec('api');
    await supervisor.supervise(spec);
    children[0].exit(2);
    await eventually('the supervisor to give up', () => (gaveUp.length > 0 ? true : undefined));

    expect(said).toEqual([]);
    expect(gaveUp[0]).toMatch(
      /^api stopped on its configuration; stopping everything\. Its last lines:\n {4}api line 1$/,
    );
    expect(children).toHaveLength(1);
  });

  it('restarts a child of other make that exits 2 (a Go panic), since only our services mean a bad configuration by it', async () => {
    const { said, gaveUp, events } = recorder();
    const supervisor = new Supervisor(events, policy);
    const { spec, children } = fakeSpec('temporal', { exitsTwoOnBadConfiguration: false });
    await supervisor.supervise(spec);
    children[0].exit(2);
    await eventually('a second start', () => (children.length === 2 ? true : undefined));

    expect(gaveUp).toEqual([]);
    expect(said).toEqual(['temporal exited (2): temporal line 1; restarting it in 20 ms']);
    await supervisor.stopAll();
  });

  it('stops a child whose first start was under way when everything stopped, and starts none after', async () => {
    const supervisor = new Supervisor(recorder().events, policy);
    const { spec, children, finishNext } = slowSpec('temporal');
    const supervising = supervisor.supervise(spec);
    const stopped = supervisor.stopAll();
    finishNext();
    await Promise.all([supervising, stopped]);

    expect(children.map((child) => child.stopped)).toEqual([true]);
    const later = fakeSpec('api');
    await supervisor.supervise(later.spec);
    expect(later.children).toEqual([]);
  });

  it('stops a child whose restart was under way when everything stopped', async () => {
    const supervisor = new Supervisor(recorder().events, policy);
    const { spec, children, finishNext, startsWaiting } = slowSpec('temporal');
    const supervising = supervisor.supervise(spec);
    finishNext();
    await supervising;
    children[0].exit(1);
    await eventually('the restart to begin', () => (startsWaiting() === 1 ? true : undefined));
    const stopped = supervisor.stopAll();
    finishNext();
    await stopped;

    expect(children.map((child) => child.stopped)).toEqual([false, true]);
  });

  it('restarts nothing once halted, as when Ctrl-C reaches every child at once', async () => {
    const { said, events } = recorder();
    const supervisor = new Supervisor(events, policy);
    const { spec, children } = fakeSpec('temporal');
    await supervisor.supervise(spec);
    supervisor.halt();
    children[0].exit('SIGINT');
    await children[0].exited;
    await supervisor.stopAll();

    expect(said).toEqual([]);
    expect(children).toHaveLength(1);
  });
});
