// A long-lived connection does not grow per request: fetches (plain and long polls that
// time out) used to attach a reaction to the connection's `draining`/`closed` promise on
// every request, kept until the connection closed (216 bytes a fetch). They now register
// with Connection.onStop and forget the listener when they finish.

import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestBroker } from '../helpers/broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

t.test('10,000 fetches on one connection leave no memory behind', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(19, 5, { topics: [{ name: 'quiet', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  const fetch = (correlationId: number, maxWaitMs: number) =>
    encodeRequest(1, 11, correlationId, {
      replicaId: -1,
      maxWaitMs,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic: 'quiet', partitions: [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
  const run = async (count: number, first: number) => {
    // 10 in flight; every tenth a long poll that times out after 1 ms (parked, then answered).
    for (let sent = 0; sent < count; sent += 10) {
      for (let i = 0; i < 10; i++) client.write(fetch(first + sent + i, i === 0 ? 1 : 0));
      for (let i = 0; i < 10; i++) await client.nextFrame(10_000);
    }
  };
  await run(2000, 0); // warm up: code, caches and pools reach their size
  gc();
  const before = process.memoryUsage().heapUsed;
  await run(10_000, 100_000);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(grown < 800_000, `the heap grew ${grown} bytes over 10,000 fetches on one open connection`);
  const connections = (broker as unknown as { connections: Set<{ stopListeners: Set<unknown> }> }).connections;
  t.same(
    [...connections].map((connection) => connection.stopListeners.size),
    [0],
    'no stop listener left behind',
  );
});
