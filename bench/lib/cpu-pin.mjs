// CPU pinning for the bench (taskset, from util-linux): the broker on one core, every load
// generator and the bench itself on the other, the same for Spate and Kafka, so a broker's
// figures are what one core of it does and a client cannot take the broker's core. Off
// with --no-pin, or when the machine has fewer than 2 cores or no taskset.

import { spawnSync } from 'node:child_process';
import os from 'node:os';

let pinning; // { broker: '0', clients: '1' } or undefined

/** Decides the pinning for this run; returns it (undefined when off) and pins this process. */
export function configurePinning(enabled) {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const taskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
  pinning = enabled && cores >= 2 && taskset ? { broker: '0', clients: `1-${cores - 1}` } : undefined;
  if (pinning) spawnSync('taskset', ['-a', '-p', '-c', pinning.clients, String(process.pid)], { stdio: 'ignore' });
  return pinning;
}

export function currentPinning() {
  return pinning;
}

/** [command, args] run on the broker's core (taskset execs, so the pid stays the broker's). */
export function onBrokerCore(command, args) {
  return pinning ? ['taskset', ['-c', pinning.broker, command, ...args]] : [command, args];
}

/** [command, args] run on the load generators' cores. */
export function onClientCores(command, args) {
  return pinning ? ['taskset', ['-c', pinning.clients, command, ...args]] : [command, args];
}
