// The progress line on stderr: rewritten in place on a terminal, a line every few seconds otherwise (CI logs).
const PIPE_INTERVAL_MS = 5_000;

export class Progress {
  private lastPipeLine = 0;
  private shown = '';
  private readonly tty = process.stderr.isTTY === true;

  /** A new state of the current step, e.g. `create c=16: 812/1000 orders`. */
  update(text: string): void {
    if (text === this.shown) return;
    this.shown = text;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
    } else if (Date.now() - this.lastPipeLine >= PIPE_INTERVAL_MS) {
      this.lastPipeLine = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }

  /** A line that stays: a step finished, a note. */
  log(text: string): void {
    if (this.tty && this.shown !== '') process.stderr.write('\r\x1b[2K');
    this.shown = '';
    process.stderr.write(`${text}\n`);
  }
}
