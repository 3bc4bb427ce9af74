// Fault injection: a stopped broker's files are damaged (truncated, zeroed, bytes flipped,
// deleted; in data, internal topics and metadata) and the next start must say what it
// repaired at WARN (file, offsets, why), serve what survived, refuse what it cannot serve
// with a Kafka error code, and refuse to start only naming the file and what to do.

import t, { type Test } from 'tap';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { batchPositions, capturingLogger, createTopic, dataDir, fetch, flipByte, makeUnclean, produce, segmentFile, start } from './helpers.js';

async function writeBatches(client: Parameters<typeof produce>[0], topic: string, count: number): Promise<void> {
  t.equal(await createTopic(client, topic), 0, `created ${topic}`);
  for (let i = 0; i < count; i++) await produce(client, topic, [`${topic}-${i}-a`, `${topic}-${i}-b`]);
}

t.test('a flipped byte mid-segment after a crash: truncated there, logged with the offsets dropped', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'data', 10); // offsets 0-19, two per batch
  await first.stop();
  const log = segmentFile(dir, 'data-0');
  const positions = batchPositions(log);
  flipByte(log, positions[4]! + 40); // batch 4: offsets 8-9
  makeUnclean(dir, 'data-0');

  const second = await start(t, dir);
  const repair = second.lines.find((line) => line.includes(log));
  t.ok(repair, 'a WARN names the segment file');
  t.match(repair, /^WARN Recovery of data-0: Truncated .* offsets 8-9 \(\d+ bytes at position \d+\): a CRC mismatch/);
  t.match(repair, /damage inside the segment/);
  const read = await fetch(second.client, 'data', 0n);
  t.equal(read.highWatermark, 8n, 'the log ends before the damaged batch');
  t.equal(read.values.length, 8);
  t.equal((await produce(second.client, 'data', ['after'])).baseOffset, 8n, 'appends continue at the cut');
});

t.test('a torn tail after a crash is truncated and logged as an interrupted write', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'torn', 3);
  await first.stop();
  const log = segmentFile(dir, 'torn-0');
  const size = statSync(log).size;
  const lastBatch = batchPositions(log).at(-1)!;
  truncateSync(log, size - 5);
  makeUnclean(dir, 'torn-0');

  const second = await start(t, dir);
  const repair = second.lines.find((line) => line.includes(log));
  t.match(repair, new RegExp(`Truncated .* from offset 4 \\(${size - 5 - lastBatch} bytes at position ${lastBatch}\\): an incomplete batch at the end .*interrupted`));
  t.equal((await fetch(second.client, 'torn', 0n)).highWatermark, 4n);
});

t.test('a zeroed region after a crash is truncated and logged', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'zeroed', 4);
  await first.stop();
  const log = segmentFile(dir, 'zeroed-0');
  const bytes = readFileSync(log);
  const at = batchPositions(log)[2]!;
  bytes.fill(0, at, bytes.length);
  writeFileSync(log, bytes);
  makeUnclean(dir, 'zeroed-0');
  const second = await start(t, dir);
  t.match(
    second.lines.find((line) => line.includes(log)),
    /Truncated .* from offset 4 .*malformed batch header/,
  );
  t.equal((await fetch(second.client, 'zeroed', 0n)).highWatermark, 4n);
});

t.test('a bad byte after a clean stop: fetch answers CORRUPT_MESSAGE and logs it, the batches before it are served', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'served', 6);
  await first.stop();
  const log = segmentFile(dir, 'served-0');
  flipByte(log, batchPositions(log)[3]! + 70); // batch 3: offsets 6-7

  const second = await start(t, dir);
  const before = await fetch(second.client, 'served', 0n);
  t.equal(before.errorCode, 0);
  t.same(before.values, ['served-0-a', 'served-0-b', 'served-1-a', 'served-1-b', 'served-2-a', 'served-2-b'], 'the read stops before the bad batch');
  const bad = await fetch(second.client, 'served', 6n);
  t.equal(bad.errorCode, ErrorCode.CORRUPT_MESSAGE, 'the bad batch is refused, not served');
  t.same(bad.values, []);
  await fetch(second.client, 'served', 6n);
  const logged = second.lines.filter((line) => line.includes('CORRUPT_MESSAGE'));
  t.equal(logged.length, 1, 'logged once, not per fetch');
  t.match(
    logged[0],
    new RegExp(`^ERROR Fetch of served-0 at offset 6 answered CORRUPT_MESSAGE: ${log.replace(/[.]/g, '\\.')}: record batch at position \\d+ \\(offsets 6-7\\) fails its CRC check`),
  );
  t.equal((await fetch(second.client, 'served', 8n)).values.length, 4, 'batches after it are still readable');
});

t.test('a corrupt __consumer_offsets segment after a clean stop: truncated at the last valid batch, logged, the broker starts', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  t.equal(await createTopic(first.client, 'orders'), 0);
  const kafka = new Kafka({ clientId: 'faults', brokers: [first.broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({ groupId: 'g', topic: 'orders', partitions: [{ partition: 0, offset: '5' }] });
  await admin.setOffsets({ groupId: 'g', topic: 'orders', partitions: [{ partition: 0, offset: '10' }] });
  await admin.disconnect();
  await first.stop();
  const offsetsDir = readdirSync(dir).find((name) => name.startsWith('__consumer_offsets-') && statSync(segmentFile(dir, name)).size > 0)!;
  const log = segmentFile(dir, offsetsDir);
  const positions = batchPositions(log);
  flipByte(log, positions.at(-1)! + 30);

  const second = await start(t, dir);
  const repair = second.lines.find((line) => line.includes(log));
  t.match(repair, new RegExp(`^WARN Recovery of ${offsetsDir}: Truncated .*a CRC mismatch`));
  const admin2 = new Kafka({ clientId: 'faults2', brokers: [second.broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin2.connect();
  t.teardown(() => admin2.disconnect());
  const [offsets] = await admin2.fetchOffsets({ groupId: 'g', topics: ['orders'] });
  // The damaged batch is the group's last record (the commit of 10 or what followed it).
  t.match(offsets!.partitions[0]!.offset, /^(5|10)$/, 'the commits before the damaged batch are kept, not -1');
});

t.test('deleted segment files: logged as missing data', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir, { 'log.segment.bytes': 1 << 20 });
  t.equal(await createTopic(first.client, 'gone'), 0);
  for (let i = 0; i < 30; i++) await produce(first.client, 'gone', [`v${i}-${'x'.repeat(100_000)}`]);
  await first.stop();
  const logs = readdirSync(join(dir, 'gone-0'))
    .filter((name) => name.endsWith('.log'))
    .sort();
  t.ok(logs.length >= 3, 'several segments');
  rmSync(join(dir, 'gone-0', logs[1]!));
  const last = join(dir, 'gone-0', logs.at(-1)!);
  rmSync(last);

  const second = await start(t, dir);
  t.ok(
    second.lines.some((line) => /Missing data in .*gone-0.* offsets \d+-\d+: no segment holds these offsets/.test(line)),
    'the gap in the middle is logged',
  );
  t.ok(
    second.lines.some((line) => line.includes(last) && /Missing data in .* from offset \d+: the segment file is gone/.test(line)),
    'the removed last segment is logged (its index was left)',
  );
});

t.test('a partition whose every file was deleted: the loss is logged against the recovery point, or the producer snapshot', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'wiped', 4);
  await first.stop();
  const copy = `${dir}-copy`;
  cpSync(dir, copy, { recursive: true });
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  for (const suffix of ['.log', '.index', '.timeindex']) rmSync(segmentFile(dir, 'wiped-0', 0n, suffix));
  const second = await start(t, dir);
  t.match(
    second.lines.join('\n'),
    /WARN Recovery of wiped-0: Missing data in .*wiped-0 offsets 0-7: the recovery point 8 \(recovery-point-offset-checkpoint\) is beyond the log end/,
  );
  await second.stop();

  // Without the checkpoint (deleted too) the producer snapshot still tells.
  for (const suffix of ['.log', '.index', '.timeindex']) rmSync(segmentFile(copy, 'wiped-0', 0n, suffix));
  rmSync(join(copy, 'recovery-point-offset-checkpoint'));
  const third = await start(t, copy);
  t.match(third.lines.join('\n'), /WARN Recovery of wiped-0: the producer snapshot in .*wiped-0 is at offset 8 but the log ends at 0: offsets 0-7 are lost/);
});

t.test('a missing index is rebuilt and logged', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'indexed', 3);
  await first.stop();
  rmSync(segmentFile(dir, 'indexed-0', 0n, '.index'));
  const second = await start(t, dir);
  t.match(
    second.lines.find((line) => line.includes('indexed-0')),
    /Rebuilt the index of .*00000000000000000000\.index offsets 0-5: an index file was missing/,
  );
  t.equal((await fetch(second.client, 'indexed', 2n)).values.length, 4);
});

t.test('topics.json damaged: the previous generation is used, with a WARN', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'one', 1);
  await writeBatches(first.client, 'two', 1);
  await first.stop();
  const path = join(dir, 'topics.json');
  t.ok(existsSync(`${path}.bak`), 'a backup generation is kept');
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace('"two"', '"twp"')); // valid JSON, wrong checksum

  const second = await start(t, dir);
  t.match(second.lines.join('\n'), /WARN .*topics\.json is damaged \(.*checksum mismatch.*\); using the previous generation .*topics\.json\.bak/);
  t.equal((await fetch(second.client, 'one', 0n)).values.length, 2, 'topic one is served');
  // The backup predates "two": its directory is not adopted by a new topic of that name.
  t.equal(await createTopic(second.client, 'two'), 0);
  t.equal((await fetch(second.client, 'two', 0n)).highWatermark, 0n, 'a new topic of the name starts empty');
  t.ok(readdirSync(dir).includes('two-0-stray'), 'the old directory was moved aside');
  t.match(second.lines.join('\n'), /Moved .*two-0 aside to .*two-0-stray: it belongs to topic ID/);
});

t.test('topics.json truncated to garbage with no usable backup: the start is refused naming the file and what to do', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'refused', 1);
  await first.stop();
  writeFileSync(join(dir, 'topics.json'), '{"version":1,"top');
  writeFileSync(join(dir, 'topics.json.bak'), '');
  const lines: string[] = [];
  await t.rejects(startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger(lines) }), {
    message: /Cannot read .*topics\.json: .*topics\.json: .*; .*topics\.json\.bak: .*Restore the file from a backup, or move it and .*topics\.json\.bak aside to rebuild it/,
  });
});

t.test('topics.json missing: the topics are rebuilt from the partition directories, same ID, same data', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'kept', 3);
  t.equal(await createTopic(first.client, 'wide', 3), 0);
  const before = await first.client.request(3, 12, {
    topics: [{ topicId: Buffer.alloc(16), name: 'kept' }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  await first.stop();
  rmSync(join(dir, 'topics.json'));
  rmSync(join(dir, 'topics.json.bak'));
  t.equal(
    readFileSync(join(dir, 'kept-0', 'partition.metadata'), 'utf8'),
    `version: 0\ntopic_id: ${(before.body.topics[0].topicId as Buffer).toString('base64url')}\n`,
    "Kafka's partition.metadata format",
  );

  const second = await start(t, dir);
  t.match(second.lines.join('\n'), /WARN .*topics\.json is missing: rebuilt 2 topic\(s\) from the partition directories \((kept, wide|wide, kept)\)/);
  const after = await second.client.request(3, 12, {
    topics: [
      { topicId: Buffer.alloc(16), name: 'kept' },
      { topicId: Buffer.alloc(16), name: 'wide' },
    ],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  t.same(after.body.topics[0].topicId, before.body.topics[0].topicId, 'the same topic ID');
  t.equal(after.body.topics[1].partitions.length, 3, 'all partitions');
  const read = await fetch(second.client, 'kept', 0n);
  t.equal(read.values.length, 6, 'the old data is served under its own topic');
  t.equal((await produce(second.client, 'kept', ['more'])).baseOffset, 6n);
  t.ok(existsSync(join(dir, 'topics.json')), 'topics.json written again');
});

t.test('broker-configs.json and producer-id-block fall back to their previous generation', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  const kafka = new Kafka({ clientId: 'faults', brokers: [first.broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const node = String(first.broker.config.nodeId);
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 4, name: node, configEntries: [{ name: 'log.retention.ms', value: '1000000' }] }] });
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 4, name: node, configEntries: [{ name: 'log.retention.ms', value: '2000000' }] }] });
  await admin.disconnect();
  const producerIds: bigint[] = [];
  for (let i = 0; i < 1001; i++) {
    // past the first block of 1000, so a previous generation exists
    const answer = await first.client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    producerIds.push(answer.body.producerId as bigint);
  }
  await first.stop();
  writeFileSync(join(dir, 'broker-configs.json'), '\0\0\0\0');
  writeFileSync(join(dir, 'producer-id-block'), 'garbage');

  const second = await start(t, dir);
  const text = second.lines.join('\n');
  t.match(text, /broker-configs\.json is damaged .*using the previous generation .*broker-configs\.json\.bak/);
  t.match(text, /producer-id-block is damaged .*using the previous generation/);
  const answer = await second.client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  t.ok((answer.body.producerId as bigint) > producerIds.at(-1)!, 'no producer ID is handed out twice');
});

t.test('a directory of another topic ID is never adopted by a new topic', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'old', 3);
  await first.stop();
  cpSync(join(dir, 'old-0'), join(dir, 'new-0'), { recursive: true });
  const second = await start(t, dir);
  const metadata = await second.client.request(3, 12, {
    topics: [{ topicId: Buffer.alloc(16), name: 'new' }],
    allowAutoTopicCreation: true,
    includeTopicAuthorizedOperations: false,
  });
  t.equal(metadata.body.topics[0].errorCode, 0, 'auto-created by Metadata');
  t.equal((await produce(second.client, 'new', ['auto-created'])).baseOffset, 0n, 'the auto-created topic starts at offset 0');
  t.same((await fetch(second.client, 'new', 0n)).values, ['auto-created']);
  t.match(second.lines.join('\n'), /Moved .*new-0 aside to .*new-0-stray: it belongs to topic ID/);
  t.equal((await fetch(second.client, 'old', 0n)).values.length, 6, 'the other topic is untouched');
});

t.test('a legacy partition directory without partition.metadata gets one', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await writeBatches(first.client, 'legacy', 1);
  await first.stop();
  rmSync(join(dir, 'legacy-0', 'partition.metadata'));
  const second = await start(t, dir);
  t.equal((await fetch(second.client, 'legacy', 0n)).values.length, 2, 'the data stays with its topic');
  t.match(readFileSync(join(dir, 'legacy-0', 'partition.metadata'), 'utf8'), /^version: 0\ntopic_id: [A-Za-z0-9_-]{22}\n$/);
});

t.test('producer-id-block damaged with no previous generation: the start is refused naming the file', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await first.client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  await first.stop();
  writeFileSync(join(dir, 'producer-id-block'), 'garbage');
  await t.rejects(startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger([]) }), {
    message: /Cannot read .*producer-id-block: .*not a number\. Restore the file from a backup/,
  });
});

t.test('data damaged after a clean stop (cut mid-batch, zeroed tail): found at start, truncated with a WARN', async (t) => {
  for (const [damage, reason] of [
    ['cut', /an incomplete batch|malformed batch header/],
    ['zeroed', /malformed batch header/],
  ] as const) {
    await t.test(damage, async (t) => {
      const dir = dataDir(t);
      const first = await start(t, dir);
      await writeBatches(first.client, 'clean', 4); // offsets 0-7
      await first.stop();
      const log = segmentFile(dir, 'clean-0');
      const third = batchPositions(log)[2]!;
      if (damage === 'cut') truncateSync(log, third + 30);
      else {
        const bytes = readFileSync(log);
        bytes.fill(0, third);
        writeFileSync(log, bytes);
      }
      t.ok(existsSync(join(dir, '.kafka_cleanshutdown')), 'the marker says clean');
      const second = await start(t, dir);
      t.match(
        second.lines.find((line) => line.includes(log)),
        new RegExp(`^WARN Recovery of clean-0: Truncated ${log.replace(/[.]/g, '\\.')} from offset 4 \\(\\d+ bytes at position ${third}\\): .*${reason.source}`),
      );
      t.equal((await fetch(second.client, 'clean', 0n)).highWatermark, 4n);
    });
  }
});

t.test('a deleted .timeindex or a garbage .index is rebuilt with a WARN', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir, { 'log.index.interval.bytes': 1 });
  await writeBatches(first.client, 'idx', 6);
  await writeBatches(first.client, 'tidx', 6);
  await first.stop();
  writeFileSync(segmentFile(dir, 'idx-0', 0n, '.index'), Buffer.alloc(64, 0x7f));
  rmSync(segmentFile(dir, 'tidx-0', 0n, '.timeindex'));
  const second = await start(t, dir);
  t.match(
    second.lines.find((line) => line.includes('idx-0/')),
    /Rebuilt the index of .*idx-0\/00000000000000000000\.index offsets 0-11: the index did not match the segment/,
  );
  t.match(
    second.lines.find((line) => line.includes('tidx-0/')),
    /Rebuilt the index of .*tidx-0\/00000000000000000000\.index offsets 0-11: an index file was missing/,
  );
  t.equal((await fetch(second.client, 'idx', 5n)).values.length, 8, 'reads use the rebuilt index');
});

/** Commits offset 5 then 10 for group g on topic orders (one batch each), stops, and returns the __consumer_offsets segment holding them. */
async function committedOffsets(t: Test, dir: string): Promise<{ log: string; partitionDir: string }> {
  const first = await start(t, dir);
  t.equal(await createTopic(first.client, 'orders'), 0);
  for (const offset of [5n, 10n]) {
    const answer = await first.client.request(8, 8, {
      groupId: 'g',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    t.equal(answer.body.topics[0].partitions[0].errorCode, 0, `committed ${offset}`);
  }
  await first.stop();
  const partitionDir = readdirSync(dir).find((name) => name.startsWith('__consumer_offsets-') && statSync(segmentFile(dir, name)).size > 0)!;
  return { log: segmentFile(dir, partitionDir), partitionDir };
}

async function groupOffset(bootstrap: string): Promise<string> {
  const admin = new Kafka({ clientId: 'faults2', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: 'g', topics: ['orders'] });
    return offsets!.partitions[0]!.offset;
  } finally {
    await admin.disconnect();
  }
}

t.test('__consumer_offsets cut, zeroed or deleted after a clean stop: the broker starts, says what it dropped, keeps what survived', async (t) => {
  await t.test('cut inside the last batch', async (t) => {
    const dir = dataDir(t);
    const { log, partitionDir } = await committedOffsets(t, dir);
    truncateSync(log, statSync(log).size - 10);
    const second = await start(t, dir);
    t.match(
      second.lines.find((line) => line.includes(log)),
      new RegExp(`^WARN Recovery of ${partitionDir}: Truncated .*interrupted`),
    );
    t.equal(await groupOffset(second.broker.bootstrap), '5', 'the commit before the cut is served');
  });
  await t.test('the last batch zeroed', async (t) => {
    const dir = dataDir(t);
    const { log, partitionDir } = await committedOffsets(t, dir);
    const bytes = readFileSync(log);
    bytes.fill(0, batchPositions(log).at(-1)!);
    writeFileSync(log, bytes);
    const second = await start(t, dir);
    t.match(
      second.lines.find((line) => line.includes(log)),
      new RegExp(`^WARN Recovery of ${partitionDir}: Truncated .*malformed batch header`),
    );
    t.equal(await groupOffset(second.broker.bootstrap), '5');
  });
  await t.test('the segment deleted', async (t) => {
    const dir = dataDir(t);
    const { log, partitionDir } = await committedOffsets(t, dir);
    rmSync(log);
    const second = await start(t, dir);
    t.match(
      second.lines.find((line) => line.includes(log)),
      new RegExp(`^WARN Recovery of ${partitionDir}: Missing data in ${log.replace(/[.]/g, '\\.')} from offset 0: the segment file is gone`),
    );
    t.equal(await groupOffset(second.broker.bootstrap), '-1', 'the commits are gone, and the WARN said so');
  });
});

t.test('a flipped byte in __transaction_state after a clean stop: truncated with a WARN, the broker starts', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  t.equal(await createTopic(first.client, 'txn-data'), 0);
  const producer = new Kafka({ clientId: 'txn', brokers: [first.broker.bootstrap], logLevel: logLevel.NOTHING }).producer({
    transactionalId: 'tx-1',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic: 'txn-data', messages: [{ value: 'in a transaction' }] });
  await transaction.commit();
  await producer.disconnect();
  await first.stop();
  const partitionDir = readdirSync(dir).find((name) => name.startsWith('__transaction_state-') && statSync(segmentFile(dir, name)).size > 0)!;
  const log = segmentFile(dir, partitionDir);
  flipByte(log, batchPositions(log).at(-1)! + 40);
  const second = await start(t, dir);
  t.match(
    second.lines.find((line) => line.includes(log)),
    new RegExp(`^WARN Recovery of ${partitionDir}: Truncated .*a CRC mismatch`),
  );
  t.ok((await fetch(second.client, 'txn-data', 0n)).values.includes('in a transaction'), 'the committed data is served');
});

t.test('damaged metadata files: partition.metadata, the recovery-point checkpoint, a producer snapshot, meta.properties', async (t) => {
  await t.test('partition.metadata garbage: rewritten with the topic ID, with a WARN', async (t) => {
    const dir = dataDir(t);
    const first = await start(t, dir);
    await writeBatches(first.client, 'meta', 2);
    await first.stop();
    writeFileSync(join(dir, 'meta-0', 'partition.metadata'), 'garbage');
    const second = await start(t, dir);
    t.match(second.lines.join('\n'), /WARN .*meta-0\/partition\.metadata is unreadable \(version missing\); rewritten with meta's topic ID from topics\.json/);
    t.equal((await fetch(second.client, 'meta', 0n)).values.length, 4, 'the data stays with its topic');
    t.match(readFileSync(join(dir, 'meta-0', 'partition.metadata'), 'utf8'), /^version: 0\ntopic_id: /);
  });
  await t.test('recovery-point-offset-checkpoint garbage after a crash: a WARN, every segment recovered', async (t) => {
    const dir = dataDir(t);
    const first = await start(t, dir);
    await writeBatches(first.client, 'points', 3);
    await first.stop();
    rmSync(join(dir, '.kafka_cleanshutdown'));
    writeFileSync(join(dir, 'recovery-point-offset-checkpoint'), '0\n7\npoints 0');
    const log = segmentFile(dir, 'points-0');
    truncateSync(log, statSync(log).size - 4);
    const second = await start(t, dir);
    t.match(second.lines.join('\n'), /WARN .*recovery-point-offset-checkpoint is damaged \(expected 7 entries, found 1\); ignored: every segment of every partition is recovered/);
    t.match(second.lines.join('\n'), /WARN Recovery of points-0: Truncated .* from offset 4 .*interrupted/);
    t.equal((await fetch(second.client, 'points', 0n)).values.length, 4);
  });
  await t.test('a producer snapshot garbage: a WARN, the producer state rebuilt from the log', async (t) => {
    const dir = dataDir(t);
    const first = await start(t, dir);
    await writeBatches(first.client, 'snap', 2);
    await first.stop();
    const snapshot = readdirSync(join(dir, 'snap-0')).find((name) => name.endsWith('.snapshot'))!;
    writeFileSync(join(dir, 'snap-0', snapshot), '{"version":1,');
    const second = await start(t, dir);
    t.match(second.lines.join('\n'), new RegExp(`WARN Recovery of snap-0: the producer snapshot .*${snapshot} is unreadable \\(.*\\); the producer state is rebuilt from the log`));
    t.equal((await produce(second.client, 'snap', ['more'])).baseOffset, 4n);
  });
  await t.test('meta.properties garbage with no previous generation: the start is refused naming the file', async (t) => {
    const dir = dataDir(t);
    const first = await start(t, dir);
    await first.stop();
    writeFileSync(join(dir, 'meta.properties'), '\0\0\0');
    await t.rejects(startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger([]) }), {
      message: /Cannot read .*meta\.properties: .*no cluster\.id\. Restore the file from a backup/,
    });
  });
});
