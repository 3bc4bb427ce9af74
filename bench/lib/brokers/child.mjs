// A broker running as a child process: its output goes to a log file (so the bench does
// not spend CPU relaying it), readiness is the first answered ApiVersions request, and stop
// is SIGTERM with a bounded wait, then SIGKILL.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { onBrokerCore } from '../cpu-pin.mjs';
import { probeApiVersions } from '../kafka-wire.mjs';

export class BrokerProcess {
  /**
   * @param {object} options
   * @param {string} options.name       "spate" or "kafka"
   * @param {string} options.command
   * @param {string[]} options.args
   * @param {string} options.cwd
   * @param {string} options.logFile
   * @param {number} options.port       the client port the broker will listen on
   * @param {number} [options.readyTimeoutMs]
   */
  constructor(options) {
    this.name = options.name;
    this.options = options;
    this.bootstrap = `127.0.0.1:${options.port}`;
    this.port = options.port;
  }

  /** Starts the broker; resolves when it answers ApiVersions, with the time that took. */
  async start() {
    const { command, args, cwd, logFile, port, readyTimeoutMs = 120_000, env } = this.options;
    const log = openSync(logFile, 'a');
    const started = performance.now();
    const [pinnedCommand, pinnedArgs] = onBrokerCore(command, args);
    this.child = spawn(pinnedCommand, pinnedArgs, { cwd, stdio: ['ignore', log, log], env: env ?? process.env });
    closeSync(log);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    let exitedEarly;
    void this.exited.then((status) => (exitedEarly = status));
    const deadline = started + readyTimeoutMs;
    while (performance.now() < deadline) {
      if (exitedEarly) throw new Error(`${this.name} exited before it was ready (${JSON.stringify(exitedEarly)}):\n${this.logTail()}`);
      if (await probeApiVersions('127.0.0.1', port, 1000)) {
        this.startToReadyMs = performance.now() - started;
        return this.startToReadyMs;
      }
      await sleep(5);
    }
    await this.stop();
    throw new Error(`${this.name} was not ready after ${readyTimeoutMs} ms:\n${this.logTail()}`);
  }

  logTail(lines = 30) {
    try {
      return readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 30_000) {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
}
