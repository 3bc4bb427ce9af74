// The REST resources the console reads: brokers, partitions with leader / replicas / ISR and
// their log (offsets, size), replicas, consumer assignments, and Spate's records resource
// (by offset, by timestamp, the latest; keys and values typed JSON / STRING / BINARY). In a
// cluster: every broker listed with the controller marked, and a partition without a local
// replica refused with its leader named.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { startTestCluster } from '../helpers/cluster.js';

const get = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as any };
};

t.test('brokers, partitions, replicas, assignments and records on one broker', async (t) => {
  const broker = await startTestBroker(t);
  const url = broker.httpUrl!;
  const clusterId = (await get(`${url}/v3/clusters`)).body.data[0].cluster_id;
  const cluster = `${url}/v3/clusters/${clusterId}`;
  const kafka = new Kafka({ clientId: 'rest-browse', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'browse', numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const first = Date.now();
  await producer.send({
    topic: 'browse',
    messages: [
      { partition: 0, key: 'json', value: JSON.stringify({ a: 1, b: [true, null] }), headers: { h: 'v' } },
      { partition: 0, key: Buffer.from([0xff, 0x00, 0xfe]), value: 'plain text' },
      { partition: 0, key: null, value: Buffer.from([0xc3, 0x28]) },
      { partition: 0, key: 'brace', value: '{not json' },
    ],
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = Date.now();
  await producer.send({
    topic: 'browse',
    messages: [
      { partition: 0, value: 'later-1' },
      { partition: 0, value: 'later-2' },
    ],
  });

  const brokers = await get(`${cluster}/brokers`);
  t.match(brokers.body, {
    kind: 'KafkaBrokerList',
    data: [{ kind: 'KafkaBroker', broker_id: broker.nodeId, host: '127.0.0.1', port: broker.port, rack: null, is_controller: true }],
  });
  t.match((await get(`${cluster}/brokers/${broker.nodeId}`)).body, { broker_id: broker.nodeId });
  t.match(await get(`${cluster}/brokers/42`), { status: 404, body: { error_code: 404 } });
  t.match((await get(cluster)).body.controller.related, new RegExp(`/brokers/${broker.nodeId}$`), 'the cluster names its controller');

  const partition = (await get(`${cluster}/topics/browse/partitions/0`)).body;
  t.match(partition, {
    kind: 'KafkaPartition',
    leader_id: broker.nodeId,
    replica_ids: [broker.nodeId],
    isr_ids: [broker.nodeId],
    offline_replica_ids: [],
    log: { broker_id: broker.nodeId, log_start_offset: 0, log_end_offset: 6, high_watermark: 6, segments: 1 },
  });
  t.ok(partition.log.size_bytes > 100, 'the log size');
  const replicas = (await get(`${cluster}/topics/browse/partitions/0/replicas`)).body;
  t.match(replicas, { kind: 'KafkaReplicaList', data: [{ kind: 'KafkaReplica', broker_id: broker.nodeId, is_leader: true, is_in_sync: true }] });
  t.match(await get(`${cluster}/topics/browse/partitions/7/replicas`), { status: 404, body: { error_code: 40403 } });

  const records = `${cluster}/topics/browse/partitions/0/records`;
  const fromZero = (await get(`${records}?offset=0&max=4`)).body;
  t.match(fromZero, { kind: 'SpateRecordList', topic_name: 'browse', partition_id: 0, log_start_offset: 0, high_watermark: 6, next_offset: 4 });
  t.equal(fromZero.metadata.next, `${records}?offset=4&max=4`, 'a link to the next page');
  t.equal((await get(fromZero.metadata.next)).body.metadata.next, null, 'the last page has none');
  t.same(
    fromZero.data.map((record: any) => [record.offset, record.key, record.value]),
    [
      [0, { type: 'STRING', data: 'json' }, { type: 'JSON', data: { a: 1, b: [true, null] } }],
      [1, { type: 'BINARY', data: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') }, { type: 'STRING', data: 'plain text' }],
      [2, null, { type: 'BINARY', data: Buffer.from([0xc3, 0x28]).toString('base64') }],
      [3, { type: 'STRING', data: 'brace' }, { type: 'STRING', data: '{not json' }],
    ],
    'keys and values typed by their bytes',
  );
  t.same(fromZero.data[0].headers, [{ name: 'h', value: Buffer.from('v').toString('base64') }]);
  t.ok(fromZero.data[0].timestamp_ms >= first - 1000 && fromZero.data[0].timestamp === new Date(fromZero.data[0].timestamp_ms).toISOString());
  const latest = (await get(`${records}?max=2`)).body;
  t.same(
    latest.data.map((record: any) => record.value.data),
    ['later-1', 'later-2'],
    'without offset or timestamp: the last records',
  );
  const byTime = (await get(`${records}?timestamp=${second}`)).body;
  t.same(
    byTime.data.map((record: any) => record.offset),
    [4, 5],
    'from a timestamp: the first record at or after it',
  );
  t.same((await get(`${records}?timestamp=${Date.now() + 60_000}`)).body.data, [], 'a future timestamp: nothing yet');
  t.same(
    (await get(`${records}?offset=-5&max=1`)).body.data.map((record: any) => record.offset),
    [0],
    'an offset below the log start starts there',
  );
  t.same((await get(`${records}?offset=99`)).body.data, []);
  t.match(await get(`${records}?max=0`), { status: 400, body: { error_code: 400, message: /max must be/ } });
  t.match(await get(`${records}?offset=abc`), { status: 400, body: { message: /offset must be an integer/ } });
  t.match(await get(`${records}?offset=1&timestamp=2`), { status: 400 });
  t.match(await get(`${cluster}/topics/browse/partitions/9/records`), { status: 404, body: { error_code: 40403 } });
  t.match(await get(`${cluster}/topics/none/partitions/0/records`), { status: 404, body: { error_code: 40403 } });

  // A live member: its assignment and the group's member count.
  const consumer = kafka.consumer({ groupId: 'browse-group' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'browse', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        if (++seen === 6) resolve();
      },
    });
  });
  const group = (await get(`${cluster}/consumer-groups/browse-group`)).body;
  t.match(group, { state: 'STABLE', members_count: 1 });
  const member = (await get(`${cluster}/consumer-groups/browse-group/consumers`)).body.data[0];
  const assignments = (await get(`${cluster}/consumer-groups/browse-group/consumers/${encodeURIComponent(member.consumer_id)}/assignments`)).body;
  t.match(assignments, { kind: 'KafkaConsumerAssignmentList' });
  t.same(
    assignments.data.map((entry: any) => [entry.topic_name, entry.partition_id]).sort(),
    [
      ['browse', 0],
      ['browse', 1],
    ],
    'the one member holds both partitions',
  );
  t.match(await get(`${cluster}/consumer-groups/browse-group/consumers/nobody/assignments`), { status: 404 });
});

t.test('in a cluster: every broker, the controller, and reads from the replicas here', async (t) => {
  const cluster = await startTestCluster(t, { brokers: 3 });
  const url = cluster.broker(1).httpUrl!;
  const clusterId = (await get(`${url}/v3/clusters`)).body.data[0].cluster_id;
  const base = `${url}/v3/clusters/${clusterId}`;
  const brokers = (await get(`${base}/brokers`)).body.data;
  t.same(
    brokers.map((broker: any) => broker.broker_id),
    [0, 1, 2],
  );
  t.same(
    brokers.filter((broker: any) => broker.is_controller).map((broker: any) => broker.broker_id),
    [cluster.store.controllerId()],
    'one controller',
  );
  const kafka = new Kafka({ clientId: 'rest-browse-cluster', brokers: [cluster.broker(0).bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      {
        topic: 'spread',
        replicaAssignment: [
          { partition: 0, replicas: [1, 2] },
          { partition: 1, replicas: [0, 2] },
        ],
      },
    ],
    waitForLeaders: true,
  });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'spread', acks: -1, messages: [{ partition: 0, value: 'here' }] });
  t.match((await get(`${base}/topics/spread`)).body, { replication_factor: 2, partitions_count: 2 });
  const mine = (await get(`${base}/topics/spread/partitions/0`)).body;
  t.match(mine, { leader_id: 1, replica_ids: [1, 2], isr_ids: [1, 2], log: { high_watermark: 1 } });
  const elsewhere = (await get(`${base}/topics/spread/partitions/1`)).body;
  t.match(elsewhere, { leader_id: 0, replica_ids: [0, 2], log: null }, 'no local replica: no log figures');
  t.same(
    (await get(`${base}/topics/spread/partitions/0/records?offset=0`)).body.data.map((record: any) => record.value.data),
    ['here'],
  );
  t.match(await get(`${base}/topics/spread/partitions/1/records`), {
    status: 404,
    body: { error_code: 40403, message: /no replica of spread-1: read it from its leader, broker 0/ },
  });
});
