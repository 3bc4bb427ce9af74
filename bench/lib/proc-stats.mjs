// What a broker process costs, read from Linux's /proc: CPU time (user + system) from
// /proc/<pid>/stat and resident memory (VmRSS, and the high-water mark VmHWM) from
// /proc/<pid>/status. The broker runs as a child process so these are its own figures.

import { readFileSync } from 'node:fs';

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat. 100 on every Linux we run on
// (getconf CLK_TCK); Node has no direct way to ask.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by the process, or NaN if it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it start after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** { rss, hwm } in bytes, or NaNs if the process is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) * 1024 : Number.NaN;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/**
 * Samples a process every `intervalMs` while a workload runs: a CPU/RSS time series for the
 * charts, and the totals for "CPU seconds per GB".
 */
export class ProcessSampler {
  #pid;
  #timer;
  #startCpu;
  #startTime;
  samples = [];

  constructor(pid, intervalMs = 500) {
    this.#pid = pid;
    this.#startCpu = cpuSeconds(pid);
    this.#startTime = performance.now();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample() {
    const { rss } = memory(this.#pid);
    this.samples.push({ t: (performance.now() - this.#startTime) / 1000, cpu: cpuSeconds(this.#pid) - this.#startCpu, rss });
  }

  /** Stops sampling; returns { cpuSeconds, wallSeconds, peakRss, samples }. */
  stop() {
    clearInterval(this.#timer);
    this.#sample();
    const peakRss = Math.max(0, ...this.samples.map((s) => s.rss).filter(Number.isFinite));
    return {
      cpuSeconds: cpuSeconds(this.#pid) - this.#startCpu,
      wallSeconds: (performance.now() - this.#startTime) / 1000,
      peakRss,
      samples: this.samples,
    };
  }
}
