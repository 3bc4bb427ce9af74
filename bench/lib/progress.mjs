// A progress bar on stderr: overall share of the planned steps, the current step and how
// long it has run. On a terminal it redraws one line; otherwise it prints a line per step.

export class Progress {
  #total;
  #done = 0;
  #label = '';
  #stepStarted = performance.now();
  #runStarted = performance.now();
  #timer;
  #tty = process.stderr.isTTY === true;

  constructor(totalWeight) {
    this.#total = Math.max(1, totalWeight);
    if (this.#tty) {
      this.#timer = setInterval(() => this.#draw(), 250);
      this.#timer.unref();
    }
  }

  /** Starts a step of the given weight (the previous step, if any, is complete). */
  step(label) {
    this.#label = label;
    this.#stepStarted = performance.now();
    if (this.#tty) this.#draw();
    else process.stderr.write(`[${this.#percent()}%] ${label}\n`);
  }

  advance(weight) {
    this.#done = Math.min(this.#total, this.#done + weight);
  }

  /** A line that stays (a finding or a warning), printed above the bar. */
  note(line) {
    if (this.#tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${line}\n`);
    if (this.#tty) this.#draw();
  }

  finish() {
    clearInterval(this.#timer);
    if (this.#tty) process.stderr.write('\r\x1b[K');
    const seconds = Math.round((performance.now() - this.#runStarted) / 1000);
    process.stderr.write(`done in ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s\n`);
  }

  #percent() {
    return Math.floor((100 * this.#done) / this.#total);
  }

  #draw() {
    const width = 28;
    const filled = Math.round((width * this.#done) / this.#total);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const stepSeconds = Math.round((performance.now() - this.#stepStarted) / 1000);
    const columns = process.stderr.columns ?? 100;
    const line = `[${bar}] ${String(this.#percent()).padStart(3)}% ${this.#label} (${stepSeconds}s)`;
    process.stderr.write(`\r\x1b[K${line.slice(0, columns - 1)}`);
  }
}
