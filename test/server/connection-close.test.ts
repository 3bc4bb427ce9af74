// A drained connection ends without a TCP reset: requests that arrived while reading was
// paused (and were never read) must not make the kernel reset the connection and drop the
// answers the client has not read yet (Connection.closeAfterDrain, used by shutdown).

import t from 'tap';
import { connect } from 'node:net';
import { decodeResponse } from '../../src/protocol/frame.js';
import { startTestBroker } from '../helpers/broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';

t.test('shutdown answers a parked fetch and ends with a FIN although requests sit unread', async (t) => {
  // One request in flight per connection: the parked fetch stops reading, so what the client
  // sends after it stays in the broker's receive buffer.
  const broker = await startTestBroker(t, { config: { 'queued.max.requests': 1 } });
  const admin = await RawClient.connect(broker.bootstrap);
  await admin.request(19, 5, { topics: [{ name: 'quiet', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  admin.close();

  const socket = connect({ host: '127.0.0.1', port: broker.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  let error: Error | undefined;
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', (e) => (error = e));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(
    encodeRequest(1, 11, 1, {
      replicaId: -1,
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'quiet', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // the fetch is parked
  for (let id = 2; id <= 20; id++) socket.write(encodeRequest(18, 3, id, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.pause(); // the answer waits in the client's receive buffer while the broker closes
  await broker.stop();
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.resume();
  await closed;
  t.equal(error, undefined, 'no reset');
  const bytes = Buffer.concat(received);
  t.ok(bytes.length >= 4 && bytes.length >= 4 + bytes.readInt32BE(0), 'the fetch answer arrived whole');
  const answer = decodeResponse(1, 11, bytes.subarray(4, 4 + bytes.readInt32BE(0)));
  t.equal(answer.correlationId, 1);
});
