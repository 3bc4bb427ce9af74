// Spate as the bench runs it: `node bin/spate.js start` in a child process on a fixed free
// port with a fresh data directory, at its default log level and settings, optionally under the V8 CPU
// profiler (--cpu-prof writes a .cpuprofile when the broker exits).

import { join } from 'node:path';
import { BrokerProcess } from './child.mjs';

export function spateBroker({ root, workDir, port, cpuProfileDir, httpPort = 0, overrides = {} }) {
  // The V8 option `npm start` and bin/spate.js's shebang give the broker (see bin/spate.js).
  const args = ['--initial-heap-size=64'];
  if (cpuProfileDir) args.push('--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`);
  args.push(join(root, 'bin', 'spate.js'), 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(workDir, 'data'));
  // The one setting changed from the defaults, on both brokers (see kafka.mjs): a consumer
  // group starts at once instead of waiting 3 s for more members.
  args.push('--override', 'group.initial.rebalance.delay.ms=0');
  // The HTTP listener (metrics, REST) on a free port, so a bench never collides on 8082; the
  // gateway workloads pass the port they picked, or null for no HTTP (and so no metrics hook).
  if (httpPort === null) args.push('--override', 'http.listeners=');
  else args.push('--http-port', String(httpPort));
  for (const [key, value] of Object.entries(overrides)) args.push('--override', `${key}=${value}`);
  const broker = new BrokerProcess({
    name: 'spate',
    command: process.execPath,
    args,
    cwd: root,
    logFile: join(workDir, 'broker.log'),
    port,
    readyTimeoutMs: 30_000,
  });
  // REST, WebSocket and /metrics, when the port was chosen here.
  if (httpPort !== null && httpPort !== 0) broker.httpUrl = `http://127.0.0.1:${httpPort}`;
  return broker;
}
