// Log compaction with real clients: kafkajs writes a keyed workload with updates and
// tombstones to a cleanup.policy=compact topic; the background cleaner compacts it to the
// last value of each key (tombstones gone after delete.retention.ms), kcat reads the
// result, and readers running during compaction always see a consistent log: offsets
// rising, and no key going back to an older value.

import t, { type Test } from 'tap';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume, type KcatRecord } from '../helpers/kcat.js';

const KEYS = 25;
const ROUNDS = 12;

/** A consistent read: offsets rise, and each key's values move forward by round. */
function checkConsistent(t: Test, records: KcatRecord[], label: string): boolean {
  const rounds = new Map<string, number>();
  let previous = -1;
  for (const record of records) {
    if (record.offset <= previous) return t.fail(`${label}: offset ${record.offset} after ${previous}`);
    previous = record.offset;
    const round = record.value === null ? ROUNDS : Number(record.value.split(' ')[1]);
    if ((rounds.get(record.key!) ?? -1) > round) return t.fail(`${label}: ${record.key} went back to round ${round}`);
    rounds.set(record.key!, round);
  }
  return true;
}

t.test('a keyed workload compacts to the last value of each key', async (t) => {
  const broker = await startTestBroker(t, { config: { 'log.cleaner.backoff.ms': 100 } });
  const kafka = new Kafka({ clientId: 'spate-compaction', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      {
        topic: 'latest',
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.ms', value: '100' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          { name: 'delete.retention.ms', value: '500' },
        ],
      },
    ],
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  const expected = new Map<string, string>();
  let readers = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      checkConsistent(t, await kcatConsume(broker.bootstrap, 'latest'), `read ${++readers}`);
    }
  })();

  let produced = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const messages = Array.from({ length: KEYS }, (_, i) => ({ key: `key-${i}`, value: `round ${round} of key-${i} ${'v'.repeat(40)}` }));
    // Half of the workload compressed: the cleaner rewrites compressed batches too.
    await producer.send({ topic: 'latest', compression: round % 2, messages });
    for (const message of messages) expected.set(message.key, message.value);
    produced += messages.length;
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
  const deleted = ['key-3', 'key-7', 'key-11'];
  await producer.send({ topic: 'latest', messages: deleted.map((key) => ({ key, value: null })) });
  for (const key of deleted) expected.delete(key);
  await new Promise((resolve) => setTimeout(resolve, 150));
  // A last record rolls the segment: everything before it becomes cleanable.
  await producer.send({ topic: 'latest', messages: [{ key: 'end', value: 'round 99 end' }] });
  expected.set('end', 'round 99 end');
  produced += deleted.length + 1;

  const log = broker.logs.partition('latest', 0)!;
  const deadline = Date.now() + 30_000;
  let final: KcatRecord[] = [];
  while (Date.now() < deadline) {
    final = await kcatConsume(broker.bootstrap, 'latest');
    if (final.length === expected.size) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  reading = false;
  await reader;
  t.ok(readers > 0, `${readers} reads ran during compaction, all consistent`);
  t.ok(broker.logs.logCleaner.statistics.passes >= 2, `${broker.logs.logCleaner.statistics.passes} cleaner passes`);

  t.equal(final.length, expected.size, `${produced} records compacted to ${final.length}`);
  t.same(new Map(final.map((r) => [r.key, r.value])), expected, 'the last value of every key; deleted keys are gone');
  t.ok(checkConsistent(t, final, 'final'));
  t.equal(log.logEndOffset, BigInt(produced), 'offsets are kept: the log end is where it was');
  t.equal(final.at(-1)!.offset, produced - 1);
});
