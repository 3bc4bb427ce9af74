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

/** CPU seconds all processes have used (every core), from the "cpu" line of /proc/stat. */
export function systemBusySeconds() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * { rss, hwm, anon, file } in bytes, or NaNs if the process is gone. `file` is mapped files
 * (a broker that mmaps its segments counts page-cache pages there), `anon` its own heap.
 */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) * 1024 : Number.NaN;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN, anon: Number.NaN, file: Number.NaN };
  }
}

/** The sum over several processes (a cluster): CPU seconds, and memory, of those still running. */
function summed(pids, read) {
  if (!Array.isArray(pids)) return read(pids);
  const values = pids.map(read);
  if (typeof values[0] === 'number') return values.filter(Number.isFinite).reduce((a, b) => a + b, 0);
  const total = { rss: 0, hwm: 0, anon: 0, file: 0 };
  for (const value of values) for (const key of Object.keys(total)) if (Number.isFinite(value[key])) total[key] += value[key];
  return total;
}

/**
 * Samples a process (or the processes of a cluster, summed) every `intervalMs` while a
 * workload runs: a CPU/RSS time series for the charts, and the totals for "CPU seconds per GB".
 */
export class ProcessSampler {
  #pid;
  #timer;
  #startCpu;
  #startTime;
  #startSystem;
  samples = [];

  constructor(pid, intervalMs = 500) {
    this.#pid = pid;
    this.#startCpu = summed(pid, cpuSeconds);
    this.#startTime = performance.now();
    this.#startSystem = systemBusySeconds();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample() {
    const { rss, anon, file } = summed(this.#pid, memory);
    this.samples.push({ t: (performance.now() - this.#startTime) / 1000, cpu: summed(this.#pid, cpuSeconds) - this.#startCpu, rss, anon, file });
  }

  /** Stops sampling; returns { cpuSeconds, systemCpuSeconds, wallSeconds, peakRss, samples }. */
  stop() {
    clearInterval(this.#timer);
    this.#sample();
    const peak = (key) => Math.max(0, ...this.samples.map((s) => s[key]).filter(Number.isFinite));
    const peakRss = peak('rss');
    return {
      cpuSeconds: summed(this.#pid, cpuSeconds) - this.#startCpu,
      systemCpuSeconds: systemBusySeconds() - this.#startSystem,
      wallSeconds: (performance.now() - this.#startTime) / 1000,
      peakRss,
      peakAnon: peak('anon'),
      peakFile: peak('file'),
      samples: this.samples,
    };
  }
}
