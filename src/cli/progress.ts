// A progress bar on stderr for the CLI's long operations (producing a file, resetting a
// group's offsets), drawn only when stderr is a terminal: piped or redirected output stays
// plain, and --json output on stdout is never mixed with it.

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

const REDRAW_MS = 100;

export class ProgressBar {
  private done = 0;
  private lastDrawn = 0;
  private readonly enabled: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private total: number,
    private readonly unit: string,
    private readonly stream: ProgressStream = process.stderr,
    private readonly format: (value: number) => string = (value) => Math.round(value).toLocaleString('en-US'),
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Sets how much is done (and the total, when it became known); redraws at most every 100 ms. */
  update(done: number, total = this.total): void {
    this.done = done;
    this.total = total;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDrawn < REDRAW_MS && done < total) return;
    this.lastDrawn = now;
    this.draw();
  }

  /** Draws the final state and moves to the next line. */
  finish(): void {
    if (!this.enabled) return;
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const tail = ` ${Math.floor(fraction * 100)
      .toString()
      .padStart(3)}% ${this.format(this.done)}/${this.format(this.total)} ${this.unit} (${this.format(this.done / seconds)}/s)`;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - tail.length - 4));
    const filled = Math.round(fraction * width);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}]${tail}`);
  }
}
