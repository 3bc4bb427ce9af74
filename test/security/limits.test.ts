// Resource limits: max.connections and max.connections.per.ip close the connections over
// the limit while those already open keep being served; a client sending one byte at a time
// is closed by spate.request.read.timeout.ms, one that never authenticates by
// spate.authentication.timeout.ms; queued.max.request.bytes stops reading when big frames
// pile up (memory measured and printed), and the broker serves again once they are gone.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const API_VERSIONS = { clientSoftwareName: 'limits', clientSoftwareVersion: '1' };

function openSockets(bootstrap: string, count: number): Promise<Array<{ socket: Socket; closed: Promise<void> }>> {
  const [host, port] = [bootstrap.slice(0, bootstrap.lastIndexOf(':')), Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))];
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<{ socket: Socket; closed: Promise<void> }>((resolve, reject) => {
          const socket = connect({ host, port }, () => resolve({ socket, closed }));
          const closed = new Promise<void>((done) => socket.on('close', () => done()));
          socket.on('error', () => undefined);
          socket.once('error', reject);
        }),
    ),
  );
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

t.test('max.connections: the flood is refused, the open connection is served', async (t) => {
  const broker = await startTestBroker(t, { config: { 'max.connections': 100 } });
  const good = await RawClient.connect(broker.bootstrap);
  t.equal((await good.request(18, 3, API_VERSIONS)).body.errorCode, 0);
  const flood = await openSockets(broker.bootstrap, 200);
  await settle();
  let open = 0;
  await Promise.all(flood.map(({ closed }) => Promise.race([closed.then(() => 0), settle().then(() => (open += 1))])));
  t.equal(open, 99, '99 of the 200 new connections stay (the limit is 100 with the good one)');
  t.equal((await good.request(18, 3, API_VERSIONS, 2)).body.errorCode, 0, 'the connection open before the flood is still served');
  for (const { socket } of flood) socket.destroy();
  await settle();
  const after = await RawClient.connect(broker.bootstrap);
  t.equal((await after.request(18, 3, API_VERSIONS)).body.errorCode, 0, 'once the flood is gone new clients are served');
  after.close();
  good.close();
});

t.test('max.connections.per.ip', async (t) => {
  const broker = await startTestBroker(t, { config: { 'max.connections.per.ip': 5 } });
  const sockets = await openSockets(broker.bootstrap, 8);
  await settle();
  let open = 0;
  await Promise.all(sockets.map(({ closed }) => Promise.race([closed.then(() => 0), settle().then(() => (open += 1))])));
  t.equal(open, 5, 'five connections from 127.0.0.1 stay');
  for (const { socket } of sockets) socket.destroy();
});

t.test('a slow sender and a client that never authenticates are closed', async (t) => {
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";',
      'spate.request.read.timeout.ms': 1500,
      'spate.authentication.timeout.ms': 1500,
    },
  });
  const [slow] = await openSockets(broker.bootstrap, 1);
  const started = Date.now();
  const frame = Buffer.alloc(64);
  frame.writeInt32BE(60, 0);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < frame.length) slow!.socket.write(frame.subarray(sent, ++sent));
  }, 100);
  await slow!.closed;
  clearInterval(timer);
  t.ok(sent < frame.length, `the one-byte-at-a-time sender was closed after ${sent} bytes`);
  t.comment(`slow sender closed after ${Date.now() - started} ms (connections.max.idle.ms is 600000)`);

  const [silent] = await openSockets(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`, 1);
  const silentStart = Date.now();
  await silent!.closed;
  t.pass('a SASL connection that never authenticates is closed');
  t.comment(`unauthenticated connection closed after ${Date.now() - silentStart} ms`);
});

t.test('queued.max.request.bytes bounds the memory of big frames', async (t) => {
  const limit = 16 * 1024 * 1024;
  const broker = await startTestBroker(t, { config: { 'queued.max.request.bytes': limit, 'spate.request.read.timeout.ms': 3000 } });
  const rssBefore = process.memoryUsage().rss;
  const senders = await openSockets(broker.bootstrap, 8);
  const chunk = Buffer.alloc(1024 * 1024, 1);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, broker.requestMemory.inUse)), 20);
  // Each claims a 100 MiB frame and sends up to 24 MiB of it as fast as the socket takes it.
  for (const { socket } of senders) {
    const header = Buffer.alloc(4);
    header.writeInt32BE(100 * 1024 * 1024, 0);
    socket.write(header);
    for (let i = 0; i < 24; i++) socket.write(chunk);
  }
  const good = await RawClient.connect(broker.bootstrap);
  const answered = await good.request(18, 3, API_VERSIONS, 1);
  t.equal(answered.body.errorCode, 0, 'a well-behaved client is answered (once the stalled frames are closed)');
  await Promise.all(senders.map(({ closed }) => closed));
  clearInterval(sampler);
  t.ok(peak < limit + 8 * 2 * 1024 * 1024, `request memory peaked at ${(peak / 1048576).toFixed(1)} MiB, limit ${limit / 1048576} MiB (reading stops once over it)`);
  t.comment(
    `8 x 100 MiB frames: request memory peak ${(peak / 1048576).toFixed(1)} MiB; process RSS grew ${((process.memoryUsage().rss - rssBefore) / 1048576).toFixed(0)} MiB (test and broker in one process)`,
  );
  t.equal(broker.requestMemory.inUse, 0, 'all of it is given back when the connections close');
  good.close();
});
