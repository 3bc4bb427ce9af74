// WebSocket streams with a real client (the `ws` package): subscribe from the beginning, an
// offset, a timestamp or the end; records arrive when appended (kafkajs produces while the
// socket waits); produce over the socket with per-message acks; a group subscription commits
// its offsets (seen by the REST lag resource); a paused reader keeps the broker's send
// buffer bounded while much more is produced, then receives everything in order.

import t from 'tap';
import { WebSocket } from 'ws';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';

interface Message {
  op: string;
  id?: string;
  records?: Array<{ offset: number; timestamp: number; key: string | null; value: string | null; headers: Array<{ name: string; value: string | null }> }>;
  [key: string]: unknown;
}

/** A WebSocket client with a queue of received messages. */
async function connect(url: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/v3/ws`);
  const inbox: Message[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()) as Message);
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    send: (message: Record<string, unknown>) => socket.send(JSON.stringify(message)),
    /** Waits (bounded) for a message matching `test`, removing it and everything before it. */
    async next(test: (message: Message) => boolean, timeoutMs = 20_000): Promise<Message> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = inbox.findIndex(test);
        if (index >= 0) return inbox.splice(0, index + 1)[index]!;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching message; got ${JSON.stringify(inbox).slice(0, 500)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    /** Waits (bounded) until each test matches a message, in whatever order they came; removes only those. */
    async all(tests: Array<(message: Message) => boolean>, timeoutMs = 20_000): Promise<Message[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const indexes = tests.map((test) => inbox.findIndex(test));
        if (indexes.every((index) => index >= 0)) {
          const found = indexes.map((index) => inbox[index]!);
          for (const index of [...indexes].sort((a, b) => b - a)) inbox.splice(index, 1);
          return found;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching messages; got ${JSON.stringify(inbox).slice(0, 500)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    inbox,
  };
}

t.test('subscribe, live delivery, produce with acks, groups', async (t) => {
  const broker = await startTestBroker(t);
  const url = broker.httpUrl!;
  const kafka = new Kafka({ clientId: 'ws-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'live', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const early = Date.now();
  await producer.send({ topic: 'live', messages: [{ key: 'a', value: 'one', headers: { h: 'x' } }, { value: 'two' }] });

  const client = await connect(url);
  t.teardown(() => client.socket.close());
  client.send({ op: 'subscribe', id: 'all', topic: 'live', from: 'beginning' });
  t.match(await client.next((m) => m.op === 'subscribed'), { id: 'all', partitions: [{ partition: 0, offset: 0 }] });
  const first = await client.next((m) => m.op === 'records' && m.id === 'all');
  t.same(
    first.records!.map((r) => [r.offset, r.key, r.value]),
    [
      [0, 'a', 'one'],
      [1, null, 'two'],
    ],
  );
  t.same(first.records![0]!.headers, [{ name: 'h', value: Buffer.from('x').toString('base64') }]);

  client.send({ op: 'subscribe', id: 'tail', topic: 'live', from: 'end' });
  t.match(await client.next((m) => m.op === 'subscribed' && m.id === 'tail'), { partitions: [{ offset: 2 }] });
  client.send({ op: 'subscribe', id: 'at1', topic: 'live', partition: 0, from: { offset: 1 } });
  t.same(
    (await client.next((m) => m.op === 'records' && m.id === 'at1')).records!.map((r) => r.value),
    ['two'],
  );
  client.send({ op: 'subscribe', id: 'time', topic: 'live', from: { timestamp: early - 60_000 } });
  t.same(
    (await client.next((m) => m.op === 'records' && m.id === 'time')).records!.map((r) => r.offset),
    [0, 1],
  );

  // Appended later: every live subscription is woken by the append.
  await producer.send({ topic: 'live', messages: [{ value: 'three' }] });
  t.same(
    (await client.next((m) => m.op === 'records' && m.id === 'tail')).records!.map((r) => r.value),
    ['three'],
  );

  // Produce over the socket; the ack carries the offset; the subscription sees it too.
  client.send({ op: 'produce', id: 'p1', topic: 'live', key: { type: 'STRING', data: 'k' }, value: { type: 'JSON', data: { n: 4 } } });
  // The subscription may deliver the record before the producer's ack goes out (a read of
  // the page cache needs no worker thread): either order is right.
  const [ack, delivered] = await client.all([(m) => m.op === 'ack', (m) => m.op === 'records' && m.id === 'tail']);
  t.match(ack, { id: 'p1', partition: 0, offset: 3 });
  t.same(
    delivered!.records!.map((r) => r.value),
    ['{"n":4}'],
  );
  client.send({ op: 'produce', id: 'p2', topic: 'nope', value: { type: 'STRING', data: 'x' } });
  t.match(await client.next((m) => m.op === 'error' && m.id === 'p2'), { error_code: 40403 });
  client.send({ op: 'subscribe', id: 'bad', topic: 'live', from: 'yesterday' });
  t.match(await client.next((m) => m.op === 'error' && m.id === 'bad'), { error_code: 400 });
  client.socket.send('not json');
  t.match(await client.next((m) => m.op === 'error'), { message: /Malformed JSON/ });

  // A group subscription commits what it delivered; a new one resumes from there.
  client.send({ op: 'subscribe', id: 'g1', topic: 'live', group: 'ws-group' });
  t.equal((await client.next((m) => m.op === 'records' && m.id === 'g1')).records!.at(-1)!.offset, 3);
  const clusterId = ((await (await fetch(`${url}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> }).data[0]!.cluster_id;
  const lags = (await (await fetch(`${url}/v3/clusters/${clusterId}/consumer-groups/ws-group/lags`)).json()) as { data: Array<{ current_offset: number; lag: number }> };
  t.match(lags.data, [{ current_offset: 4, lag: 0 }]);
  client.send({ op: 'unsubscribe', id: 'g1' });
  await client.next((m) => m.op === 'unsubscribed');
  await producer.send({ topic: 'live', messages: [{ value: 'five' }] });
  const again = await connect(url);
  t.teardown(() => again.socket.close());
  again.send({ op: 'subscribe', id: 'g2', topic: 'live', group: 'ws-group' });
  t.match(await again.next((m) => m.op === 'subscribed'), { partitions: [{ offset: 4 }] });
  t.same(
    (await again.next((m) => m.op === 'records')).records!.map((r) => r.value),
    ['five'],
  );
});

t.test('a paused reader keeps the send buffer bounded', async (t) => {
  const maxBufferedBytes = 256 * 1024;
  const readBytes = 64 * 1024;
  const broker = await startTestBroker(t, { httpStreams: { maxBufferedBytes, readBytes } });
  const url = broker.httpUrl!;
  const kafka = new Kafka({ clientId: 'ws-slow', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'firehose', messages: [{ value: 'start' }] });

  const client = await connect(url);
  t.teardown(() => client.socket.close());
  client.send({ op: 'subscribe', id: 's', topic: 'firehose', from: 'beginning' });
  await client.next((m) => m.op === 'records');
  // Stop reading: the kernel buffers fill, then uWS buffers, then delivery must pause.
  const raw = (client.socket as unknown as { _socket: import('node:net').Socket })._socket;
  raw.pause();

  const value = 'v'.repeat(1000);
  const batches = 48;
  const perBatch = 1000;
  const heapBefore = process.memoryUsage().heapUsed;
  let maxBuffered = 0;
  const buffered = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^spate_websocket_buffered_bytes (\d+)/m.exec(text)![1]);
  };
  for (let batch = 0; batch < batches; batch++) {
    await producer.send({ topic: 'firehose', messages: Array.from({ length: perBatch }, () => ({ value })) });
    maxBuffered = Math.max(maxBuffered, await buffered());
  }
  const produced = batches * perBatch * value.length;
  t.comment(
    `produced ${(produced / 1048576).toFixed(0)} MB while the reader was paused; broker-side WebSocket buffer peaked at ${(maxBuffered / 1024).toFixed(0)} KB; ` +
      `heap grew ${((process.memoryUsage().heapUsed - heapBefore) / 1048576).toFixed(1)} MB (broker and clients share this process)`,
  );
  // One read's JSON message can land on top of a buffer just under the limit.
  t.ok(maxBuffered <= maxBufferedBytes + readBytes * 2, `buffer stayed near the ${maxBufferedBytes}-byte limit (peak ${maxBuffered})`);
  t.ok(maxBuffered > 0, 'the paused reader did fill the buffer');

  raw.resume();
  let next = 1;
  for (;;) {
    const message = await client.next((m) => m.op === 'records', 60_000);
    for (const record of message.records!) {
      if (record.offset !== next) throw new Error(`offset ${record.offset} where ${next} was due`);
      next++;
    }
    if (next === batches * perBatch + 1) break;
  }
  t.equal(next - 1, batches * perBatch, 'every record arrived in order after resuming');
});
