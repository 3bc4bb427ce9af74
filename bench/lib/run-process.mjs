// Runs a load generator as a child process, bounded in time: collects its stdout lines with
// the moment each arrived, keeps the tail of stderr for error reports, and kills the whole
// process if it overruns.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onClientCores } from './cpu-pin.mjs';
import { cpuSeconds } from './proc-stats.mjs';

/**
 * The child's own CPU time is sampled while it runs (the last sample before it exits), to
 * tell whether a load generator, rather than the broker, was the limit.
 * @returns {Promise<{ code: number|null, signal: string|null, timedOut: boolean, lines: {t: number, text: string}[], stderr: string, seconds: number, cpuSeconds: number }>}
 */
export function runProcess(command, args, { cwd, timeoutMs, env, onLine } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const [pinnedCommand, pinnedArgs] = onClientCores(command, args);
    const child = spawn(pinnedCommand, pinnedArgs, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const lines = [];
    let stderr = '';
    let timedOut = false;
    let cpu = 0;
    const cpuSampler = setInterval(() => {
      const now = cpuSeconds(child.pid);
      if (Number.isFinite(now)) cpu = now;
    }, 200);
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = { t: (performance.now() - started) / 1000, text };
      lines.push(line);
      onLine?.(line);
    });
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk.toString()).slice(-8000);
    });
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal); // the tool and anything it started
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    }, timeoutMs ?? 120_000);
    child.on('error', (error) => {
      stderr += `\n${error.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(cpuSampler);
      resolve({ code, signal, timedOut, lines, stderr, seconds: (performance.now() - started) / 1000, cpuSeconds: cpu });
    });
  });
}

/** The JSON of the last "result {...}" line, or undefined. */
export function resultLine(lines) {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].text.startsWith('result ')) {
      try {
        return JSON.parse(lines[i].text.slice(7));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** "interval <ms> <records> <bytes>" lines as [{ t (s), mbPerSec, recordsPerSec }]. */
export function intervalSeries(lines) {
  const series = [];
  let previous = 0;
  for (const { text } of lines) {
    const match = /^interval (\d+) (\d+) (\d+)$/.exec(text);
    if (!match) continue;
    const ms = Number(match[1]);
    const span = Math.max(1, ms - previous) / 1000;
    previous = ms;
    // A last report over a sliver of a second says little and draws a spike.
    if (span < 0.5) continue;
    series.push({ t: ms / 1000, mbPerSec: Number(match[3]) / span / (1024 * 1024), recordsPerSec: Number(match[2]) / span });
  }
  return series;
}

/** A short, single-line reason from a failed tool's output. */
export function failureReason(run, fallback = 'failed') {
  const text = `${run.stderr}\n${run.lines.map((l) => l.text).join('\n')}`;
  const patterns = [
    /The node does not support [A-Z_]+/,
    /UnsupportedVersionException: [^\n]+/,
    /Exception in thread "main" [^\n]+/,
    /ERROR [^\n]+/,
    /\w*Error(?: \[\w+\])?: [^\n]+/,
    /[A-Za-z.]+Exception: [^\n]+/,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return match[0].trim().slice(0, 300);
  }
  if (run.timedOut) return `timed out after ${Math.round(run.seconds)} s`;
  return `${fallback} (exit ${run.code ?? run.signal})`;
}
