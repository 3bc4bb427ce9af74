// The log dir as Kafka keeps it: `.lock` (one broker per directory), recovery-point-offset-
// checkpoint written every log.flush.offset.checkpoint.interval.ms (Kafka's format), and a
// DeleteTopics of many topics written to topics.json once.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startBroker } from '../../src/index.js';
import { capturingLogger, createTopic, dataDir, fetch, produce, start } from './helpers.js';

t.test("a second broker on the same log dir is refused by Kafka's .lock", async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  await t.rejects(startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger([]) }), {
    code: 'LOG_DIR_LOCKED',
    message: /\.lock is locked: another broker uses the log dir/,
  });
  await first.stop();
  const second = await start(t, dir);
  t.equal(await createTopic(second.client, 'after'), 0, 'once the first stopped, the next one starts');
});

t.test('recovery-point-offset-checkpoint is written every log.flush.offset.checkpoint.interval.ms as segments are flushed', async (t) => {
  const dir = dataDir(t);
  const broker = await start(t, dir, { 'log.flush.offset.checkpoint.interval.ms': 100 });
  const answer = await broker.client.request(19, 5, {
    topics: [{ name: 'rolling', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'internal.segment.bytes', value: '2000' }] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.equal(answer.body.topics[0].errorCode, 0);
  for (let i = 0; i < 40; i++) await produce(broker.client, 'rolling', [`value-${i}-${'x'.repeat(200)}`]);
  const segments = readdirSync(join(dir, 'rolling-0'))
    .filter((name) => name.endsWith('.log'))
    .sort();
  t.ok(segments.length > 3, `${segments.length} segments`);
  const activeBase = BigInt(segments.at(-1)!.slice(0, 20));
  const entry = () => {
    const path = join(dir, 'recovery-point-offset-checkpoint');
    if (!existsSync(path)) return undefined;
    const line = readFileSync(path, 'utf8')
      .split('\n')
      .find((candidate) => candidate.startsWith('rolling 0 '));
    return line === undefined ? undefined : BigInt(line.split(' ')[2]!);
  };
  let point = entry();
  for (let waited = 0; (point === undefined || point < activeBase) && waited < 10_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    point = entry();
  }
  t.equal(point, activeBase, 'while running, the checkpoint reaches the active segment (the rolled ones were flushed)');
  const text = readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8');
  t.match(text, /^0\n\d+\n(\S+ \d+ \d+\n)+$/, "Kafka's OffsetCheckpointFile format");
  await broker.stop();
  t.ok(readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8').includes('rolling 0 40\n'), 'at shutdown: the log end, everything flushed');
});

t.test('a DeleteTopics of 200 topics writes topics.json once, then removes the directories', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  const names = Array.from({ length: 200 }, (_, i) => `gone-${i}`);
  for (const name of names) t.equal(await createTopic(first.client, name), 0, `created ${name}`);
  t.equal(await createTopic(first.client, 'stays'), 0);
  await produce(first.client, 'stays', ['kept']);
  const answer = await first.client.request(20, 6, { topics: names.map((name) => ({ name, topicId: Buffer.alloc(16) })), timeoutMs: 30_000 });
  t.ok(
    answer.body.responses.every((response: { errorCode: number }) => response.errorCode === 0),
    'every topic deleted',
  );
  const listed = (file: string) => (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { topics: Array<{ name: string }> }).topics.map((topic) => topic.name);
  t.same(listed('topics.json'), ['stays'], 'topics.json lists what is left');
  // The previous generation is the one before the request: one write for all 200.
  t.equal(listed('topics.json.bak').filter((name) => name.startsWith('gone-')).length, 200, 'topics.json.bak still lists all 200: written once');
  for (let waited = 0; readdirSync(dir).some((name) => name.startsWith('gone-')) && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(
    readdirSync(dir).filter((name) => name.startsWith('gone-')),
    [],
    'the directories are removed',
  );
  await first.stop();
  const second = await start(t, dir);
  t.same((await fetch(second.client, 'stays', 0n)).values, ['kept']);
  const metadata = await second.client.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  t.same(
    metadata.body.topics.map((topic: { name: string }) => topic.name).filter((name: string) => !name.startsWith('__')),
    ['stays'],
    'nothing comes back after a restart',
  );
});

t.test('a partition that cannot be opened refuses the start naming it, and leaves the log dir unlocked', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  t.equal(await createTopic(first.client, 'ok'), 0);
  t.equal(await createTopic(first.client, 'broken'), 0);
  await first.stop();
  const partition = join(dir, 'broken-0');
  rmSync(partition, { recursive: true });
  writeFileSync(partition, 'not a directory');
  await t.rejects(startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger([]) }), {
    message: /Cannot open the log of broken-0 in .*broken-0: .*Fix the file named \(permissions, disk\) or move the directory aside/,
  });
  rmSync(partition);
  const second = await start(t, dir);
  t.equal((await fetch(second.client, 'ok', 0n)).errorCode, 0, 'once fixed, the broker starts (nothing stayed locked)');
});

t.test('a topic deleted and created again: the checkpoint forgets the old one at once (a crash right after recovers the new one cleanly)', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, dir);
  t.equal(await createTopic(first.client, 'again'), 0);
  for (let i = 0; i < 5; i++) await produce(first.client, 'again', [`old-${i}`]);
  await first.stop(); // checkpoint: again 0 5
  const second = await start(t, dir);
  const deleted = await second.client.request(20, 6, { topics: [{ name: 'again', topicId: Buffer.alloc(16) }], timeoutMs: 30_000 });
  t.equal(deleted.body.responses[0].errorCode, 0);
  t.equal(await createTopic(second.client, 'again'), 0);
  await produce(second.client, 'again', ['new']);
  // A crash now: the directory as it is, without the clean-shutdown marker.
  const crashed = `${dir}-crashed`;
  cpSync(dir, crashed, { recursive: true });
  t.teardown(() => rmSync(crashed, { recursive: true, force: true }));
  t.notOk(existsSync(join(crashed, '.kafka_cleanshutdown')));
  const third = await start(t, crashed);
  t.same(third.lines, [], "no WARN: the old topic's recovery point 5 did not apply to the new one");
  t.same((await fetch(third.client, 'again', 0n)).values, ['new']);
});

t.test('topics.json cannot be written: CreateTopics answers an error and keeps nothing; a DeleteTopics keeps the data', async (t) => {
  const dir = dataDir(t);
  const broker = await start(t, dir);
  t.equal(await createTopic(broker.client, 'kept'), 0);
  await produce(broker.client, 'kept', ['still here']);
  mkdirSync(join(dir, 'topics.json.tmp')); // the temp file cannot be written
  const created = await broker.client.request(19, 5, {
    topics: [{ name: 'refused', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.match(created.body.topics[0], { errorCode: -1, errorMessage: /Writing topics\.json failed/ });
  t.notOk(existsSync(join(dir, 'refused-0')), 'its directories are removed');
  t.match(broker.lines.join('\n'), /ERROR Storage failure on .*topics\.json/);
  const deleted = await broker.client.request(20, 6, { topics: [{ name: 'kept', topicId: Buffer.alloc(16) }], timeoutMs: 1000 });
  t.not(deleted.body.responses?.[0]?.errorCode ?? deleted.body.errorCode, 0, 'the deletion is not acknowledged');
  t.ok(existsSync(join(dir, 'kept-0')), 'the data stays where it was');
  rmSync(join(dir, 'topics.json.tmp'), { recursive: true });
  await broker.stop();
  const again = await start(t, dir);
  t.same((await fetch(again.client, 'kept', 0n)).values, ['still here'], 'after a restart the topic is there with its data');
  t.equal(await createTopic(again.client, 'refused'), 0, 'and the refused name can be created');
});
