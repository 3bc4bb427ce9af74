// Starts an in-process broker on an ephemeral port with a temporary data dir, stopped by
// the test's teardown.

import { type Test } from 'tap';
import { startBroker, type BrokerOptions, type SpateBroker } from '../../src/index.js';

export async function startTestBroker(t: Test, options: BrokerOptions = {}): Promise<SpateBroker> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, temporary: options.dataDir === undefined, logLevel: 'warn', ...options });
  t.teardown(() => broker.stop());
  return broker;
}
