// One append-only log file per process of the stack, so a failing scenario can show what each process said.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readableLogLine } from '../tools/service-process';

export class LogFile {
  private readonly stream;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  /** A pino JSON line is written readable; anything else as it came. */
  write(line: string): void {
    this.stream.write(`${readableLogLine(line)}\n`);
  }

  /** A line of the harness's own, so restarts and faults show where they happened in the process's log. */
  mark(event: string): void {
    this.stream.write(`----- ${new Date().toISOString()} harness: ${event} -----\n`);
  }

  /** Resolves once everything written so far is in the file. */
  flushed(): Promise<void> {
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }

  /** The last lines, each cut to `width` characters. */
  async tail(lines = 15, width = 300): Promise<string> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    return text
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((line) => (line.length > width ? `${line.slice(0, width)}…` : line))
      .join('\n');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
