// Starts a one-process cluster (port 0 and a temporary data directory per broker), stopped by
// the test's teardown, and small waits on its state.

import { type Test } from 'tap';
import { startCluster, type ClusterOptions, type SpateCluster } from '../../src/index.js';

export async function startTestCluster(t: Test, options: Partial<ClusterOptions> = {}): Promise<SpateCluster> {
  const cluster = await startCluster({ brokers: 3, logLevel: 'warn', ...options });
  t.teardown(() => cluster.stop());
  return cluster;
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
