// Runs the `spate` command as a child process (for restart, SIGTERM and kill -9 tests)
// and waits for its ready line to learn the port.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

export interface ProcessBroker {
  readonly child: ChildProcess;
  readonly bootstrap: string;
  readonly output: () => string;
  /** The HTTP listener's URL, once its line is out (the HTTP side starts after the ready line). */
  readonly httpUrl: () => Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ProcessBrokerOptions {
  /** RLIMIT_NOFILE (soft and hard) of the broker process, set with the shell's ulimit before it starts. */
  readonly fileLimit?: number;
  /** How long to wait for the ready line (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export function startProcessBroker(dataDir: string, extra: string[] = [], options: ProcessBrokerOptions = {}): Promise<ProcessBroker> {
  return new Promise((resolve, reject) => {
    const args = ['--initial-heap-size=64', BIN, 'start', '--port', '0', '--http-port', '0', '--data-dir', dataDir, ...extra];
    const [command, commandArgs] =
      options.fileLimit === undefined ? [process.execPath, args] : ['/bin/sh', ['-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, process.execPath, ...args]];
    const child = spawn(command, commandArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker did not become ready:\n${output}`));
    }, options.readyTimeoutMs ?? 20_000);
    const httpUrl = async (): Promise<string> => {
      for (let waited = 0; waited < 20_000; waited += 20) {
        const match = /HTTP on (http:\/\/\S+)/.exec(output);
        if (match !== null) return match[1]!;
        await new Promise((done) => setTimeout(done, 20));
      }
      throw new Error(`no HTTP listener line:\n${output}`);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready on (\S+:\d+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, bootstrap: match[1]!, output: () => output, httpUrl, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code}) before ready:\n${output}`));
    });
  });
}

/** A port that was free a moment ago, for a broker that must come back on the same port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
