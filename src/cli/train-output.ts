import { MultiBar, Presets, type SingleBar } from "cli-progress";

/**
 * What `dcgan train` shows: its lines and, on a terminal, a progress bar under them.
 * Every line reaches the user however the run ends: lines the bar holds back are drawn
 * before it stops, and once standard output is gone (a closed pipe: Ctrl-C on
 * `dcgan train | tee log` ends tee too) lines go to standard error instead.
 */
export class TrainOutput {
  private readonly bars?: MultiBar;
  private readonly bar?: SingleBar;
  private stdoutClosed = false;

  /** `onStdoutClosed` runs once, when a write finds standard output closed. */
  constructor(onStdoutClosed: () => void) {
    // Node ignores SIGPIPE: a write to a closed pipe fails with EPIPE, which unhandled
    // would end the process before its checkpoint is written.
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      if (this.stdoutClosed) return;
      this.stdoutClosed = true;
      onStdoutClosed();
    });
    // With standard error closed too there is nobody left to tell; training goes on.
    process.stderr.on("error", () => undefined);
    if (process.stdout.isTTY) {
      this.bars = new MultiBar(
        { format: "{bar} {value}/{total} it | {ips} img/s | ETA {eta_formatted}", hideCursor: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
      this.bar = this.bars.create(1, 0, { ips: "-" });
    }
  }

  line(text: string): void {
    if (this.stdoutClosed) process.stderr.write(`${text}\n`);
    else if (this.bars?.isActive) this.bars.log(`${text}\n`);
    else process.stdout.write(`${text}\n`);
  }

  /** A line for standard error: a warning that should not mix with the log lines. */
  warning(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  start(total: number, done: number): void {
    this.bar?.setTotal(total);
    this.bar?.update(done);
  }

  progress(done: number, imagesPerSecond: number): void {
    this.bar?.update(done, { ips: imagesPerSecond.toFixed(1) });
  }

  /** Draws the lines the bar still holds and the bar a last time; later lines go straight out. */
  stop(): void {
    if (!this.bars?.isActive) return;
    this.bars.update();
    this.bars.stop();
  }
}
