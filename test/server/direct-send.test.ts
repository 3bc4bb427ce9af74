// Large fetch chunks go to plain TCP sockets with sendfile(2) (src/server/connection.ts): the
// bytes kafkajs, kcat and a slow raw reader get are exactly what was produced, in order, the
// sendfile byte counter shows the path was taken, and TLS connections never take it.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecordBatches } from '../../src/protocol/record-batch.js';
import { type SpateBroker } from '../../src/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume } from '../helpers/kcat.js';
import { RawClient, encodeRequest } from '../helpers/raw-client.js';
import { decodeResponse } from '../../src/protocol/frame.js';
import { makeCertificates } from '../security/certificates.js';

const RECORDS = 3000;
const valueOf = (index: number) => `${String(index).padStart(6, '0')}:${'x'.repeat(1017)}`;

async function sentDirect(broker: SpateBroker): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl!}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith('spate_network_sendfile_bytes_total '));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function client(broker: SpateBroker, listener: string, ca: string): Kafka {
  return new Kafka({
    clientId: `direct-send-${listener}`,
    brokers: [`127.0.0.1:${broker.portOf(listener)}`],
    ssl: listener === 'SSL' ? { ca: [ca], servername: 'localhost' } : false,
    logLevel: logLevel.NOTHING,
  });
}

async function consumeAll(kafka: Kafka, topic: string, groupId: string): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 1 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value!.toString());
      if (values.length >= RECORDS) finish();
    },
  });
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  await consumer.disconnect();
  return values;
}

t.test('kafkajs, kcat and a slow reader get every byte; TLS never uses sendfile', async (t) => {
  const certs = makeCertificates(t);
  const ca = readFileSync(certs.caCert, 'utf8');
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.serverKeystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': certs.caCert,
    },
  });
  const plain = client(broker, 'PLAINTEXT', ca);
  const admin = plain.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'direct', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = plain.producer();
  await producer.connect();
  for (let start = 0; start < RECORDS; start += 500) {
    await producer.send({ topic: 'direct', messages: Array.from({ length: 500 }, (_, i) => ({ value: valueOf(start + i) })) });
  }
  await producer.disconnect();
  const expected = Array.from({ length: RECORDS }, (_, i) => valueOf(i));

  t.equal(await sentDirect(broker), 0, 'nothing sent with sendfile before any fetch');
  const overTls = await consumeAll(client(broker, 'SSL', ca), 'direct', 'tls-reader');
  t.same(overTls, expected, 'kafkajs over TLS reads every record in order');
  t.equal(await sentDirect(broker), 0, 'TLS fetches never use sendfile (the bytes must be encrypted)');

  const overTcp = await consumeAll(plain, 'direct', 'tcp-reader');
  t.same(overTcp, expected, 'kafkajs over plain TCP reads every record in order');
  const afterKafkajs = await sentDirect(broker);
  t.ok(afterKafkajs >= 1 << 20, `fetch answers went out with sendfile (${afterKafkajs} bytes)`);

  const kcat = await kcatConsume(`127.0.0.1:${broker.portOf('PLAINTEXT')}`, 'direct');
  t.same(
    kcat.map((record) => record.value),
    expected,
    'kcat (librdkafka) reads every record in order',
  );
  t.ok((await sentDirect(broker)) > afterKafkajs, 'kcat fetches used sendfile too');

  // A reader that stops reading: the socket fills, sendfile sends part of a chunk, Node
  // queues the rest, and the pipelined answers after it must not overtake it.
  const raw = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  t.teardown(() => raw.close());
  const PIPELINED = 6;
  const request = (correlationId: number) =>
    encodeRequest(1, 11, correlationId, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'direct', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
  raw.socket.pause();
  for (let id = 1; id <= PIPELINED; id++) raw.write(request(id));
  await new Promise((resolve) => setTimeout(resolve, 500));
  raw.socket.resume();
  let intact = 0;
  for (let id = 1; id <= PIPELINED; id++) {
    const response = decodeResponse(1, 11, await raw.nextFrame(30_000)) as { correlationId: number; body: any };
    const records = response.body.responses[0].partitions[0].records as Buffer;
    const values = decodeRecordBatches(records).flatMap((batch) => batch.records.map((record) => record.value!.toString()));
    if (response.correlationId === id && values.length === RECORDS && values.every((value, i) => value === expected[i])) intact++;
  }
  t.equal(intact, PIPELINED, 'pipelined 3 MiB answers to a stalled reader arrive whole and in order');
});
