// The CLI's admin commands against a running Spate, checked with kafkajs: topics alter
// (partitions, configs), configs set / get on topics, brokers and groups, groups
// reset-offsets (every scenario, dry run by default, --execute refused while the group has
// members), produce --rate and acks=0, the progress bar on a terminal (through script(1)),
// and Kafka error names. The CLI runs from dist/ (npm run build:ts first).

import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { run } from '../helpers/kcat.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

t.test('topics alter, configs set, groups reset-offsets, produce --rate', async (t) => {
  const broker = await startTestBroker(t);
  const spate = (input: string | undefined, ...args: string[]) => run(process.execPath, [BIN, ...args, '--bootstrap-server', broker.bootstrap], input);
  const json = async (...args: string[]) => {
    const result = await spate(undefined, ...args, '--json');
    t.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as any;
  };
  const kafka = new Kafka({ clientId: 'cli-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const topicConfig = async (topic: string, name: string) =>
    (await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: [name] }], includeSynonyms: false })).resources[0]!.configEntries[0]!;

  // topics alter: more partitions, a config set, then deleted.
  t.equal((await spate(undefined, 'topics', 'create', '--topic', 'altered', '--partitions', '2')).code, 0);
  t.same(await json('topics', 'alter', '--topic', 'altered', '--partitions', '4', '--config', 'retention.ms=3600000', '--config', 'segment.ms=86400000'), {
    topic: 'altered',
    partitions: 4,
    configs: { 'retention.ms': '3600000', 'segment.ms': '86400000' },
  });
  t.equal((await admin.fetchTopicMetadata({ topics: ['altered'] })).topics[0]!.partitions.length, 4, 'kafkajs sees 4 partitions');
  t.equal((await topicConfig('altered', 'retention.ms')).configValue, '3600000');
  const plainAlter = await spate(undefined, 'topics', 'alter', '--topic', 'altered', '--delete-config', 'retention.ms');
  t.match(plainAlter.stdout, /Altered the configs of topic altered: retention.ms deleted/);
  t.equal((await topicConfig('altered', 'retention.ms')).configValue, '604800000', 'back to the default');
  const fewer = await spate(undefined, 'topics', 'alter', '--topic', 'altered', '--partitions', '3');
  t.equal(fewer.code, 1);
  t.match(fewer.stderr, /INVALID_PARTITIONS/, 'errors carry the Kafka error name');
  const badConfig = await spate(undefined, 'topics', 'alter', '--topic', 'altered', '--config', 'cleanup.policy=sometimes');
  t.match(badConfig.stderr, /INVALID_CONFIG/);
  t.match((await spate(undefined, 'topics', 'alter', '--topic', 'altered')).stderr, /needs --partitions N or --config/);

  // configs set and get: topic, broker, group.
  t.same(await json('configs', 'set', '--topic', 'altered', '--config', 'max.message.bytes=2000000'), { resource: 'topic altered', altered: { 'max.message.bytes': '2000000' } });
  t.equal((await topicConfig('altered', 'max.message.bytes')).configValue, '2000000');
  await json('configs', 'set', '--broker', String(broker.nodeId), '--config', 'log.cleaner.threads=2');
  const brokerConfigs = (await json('configs', 'get', '--broker', String(broker.nodeId))) as Array<{ name: string; value: string; source: string }>;
  t.match(
    brokerConfigs.find((config) => config.name === 'log.cleaner.threads'),
    { value: '2', source: 'DYNAMIC_BROKER_CONFIG' },
  );
  await json('configs', 'set', '--broker-defaults', '--config', 'log.cleaner.threads=3');
  await json('configs', 'set', '--group', 'reset-group', '--config', 'consumer.session.timeout.ms=50000');
  const groupConfigs = (await json('configs', 'get', '--group', 'reset-group')) as Array<{ name: string; value: string; source: string }>;
  t.match(
    groupConfigs.find((config) => config.name === 'consumer.session.timeout.ms'),
    { value: '50000', source: 'GROUP_CONFIG' },
  );
  t.match((await spate(undefined, 'configs', 'set', '--topic', 'altered', '--config', 'no.such.config=1')).stderr, /INVALID_CONFIG/);
  t.match((await spate(undefined, 'configs', 'set', '--topic', 'altered', '--broker', '1', '--config', 'a=b')).stderr, /needs one of --topic T, --broker N/);
  t.match((await spate(undefined, 'configs', 'set', '--topic', 'nope', '--config', 'retention.ms=1')).stderr, /UNKNOWN_TOPIC_OR_PARTITION/);

  // produce --rate: 30 records at 60 a second cannot take under half a second; acks=0 works too.
  const rated = await spate(Array.from({ length: 30 }, (_, index) => `r${index}`).join('\n'), 'produce', '--topic', 'altered', '--partition', '0', '--rate', '60', '--json');
  t.equal(rated.code, 0, rated.stderr);
  const ratedResult = JSON.parse(rated.stdout) as { records: number; seconds: number };
  t.equal(ratedResult.records, 30);
  t.ok(ratedResult.seconds >= 0.45, `paced: 30 records at 60/s took ${ratedResult.seconds} s`);
  t.match((await spate('x', 'produce', '--topic', 'altered', '--rate', '0')).stderr, /--rate must be a positive number/);
  const noAcks = await spate('a0\nb0\nc0', 'produce', '--topic', 'altered', '--partition', '1', '--acks', '0', '--json');
  t.equal(noAcks.code, 0, noAcks.stderr);
  const partitionOne = await admin.fetchTopicOffsets('altered');
  t.equal(partitionOne.find((entry) => entry.partition === 1)!.high, '3', 'acks=0 records arrived');

  // groups reset-offsets: a group that read partition 0 (30 records) and committed.
  const consumed = await spate(undefined, 'consume', '--topic', 'altered', '--partition', '0', '--offset', 'earliest', '--count', '30', '--group', 'reset-group');
  t.equal(consumed.code, 0, consumed.stderr);
  const committed = async () =>
    Object.fromEntries(((await admin.fetchOffsets({ groupId: 'reset-group', topics: ['altered'] }))[0]!.partitions ?? []).map((entry) => [entry.partition, Number(entry.offset)]));
  t.equal((await committed())[0], 30);
  const dryRun = await spate(undefined, 'groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:0', '--to-earliest');
  t.match(dryRun.stdout, /GROUP\s+TOPIC\s+PARTITION\s+NEWOFFSET\s+reset-group\s+altered\s+0\s+0/);
  t.match(dryRun.stdout, /Dry run/);
  t.equal((await committed())[0], 30, 'a dry run (the default) commits nothing');
  const shifted = await json('groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:0', '--shift-by', '-5', '--execute');
  t.same(shifted, { group: 'reset-group', executed: true, offsets: [{ topic: 'altered', partition: 0, newOffset: 25 }] });
  t.equal((await committed())[0], 25, '--shift-by -5 committed');
  await json('groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:0', '--shift-by', '100', '--execute');
  t.equal((await committed())[0], 30, 'clamped to the latest offset');
  await json('groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:0', '--to-offset', '7', '--execute');
  t.equal((await committed())[0], 7);
  const latest = await json('groups', 'reset-offsets', '--group', 'reset-group', '--all-topics', '--to-latest', '--dry-run');
  t.same(
    latest.offsets.map((row: any) => [row.partition, row.newOffset]),
    [[0, 30]],
    '--all-topics: the partitions the group has offsets for',
  );
  // --to-datetime: records produced after a moment.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const moment = new Date();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await spate('late1\nlate2', 'produce', '--topic', 'altered', '--partition', '0');
  const byTime = await json('groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:0', '--to-datetime', moment.toISOString(), '--execute');
  t.same(byTime.offsets, [{ topic: 'altered', partition: 0, newOffset: 30 }], 'the first record at or after the time');
  t.same(
    (await json('groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered', '--to-earliest')).offsets.map((row: any) => row.partition),
    [0, 1, 2, 3],
    '--topic T: every partition of T',
  );
  t.match(
    (await spate(undefined, 'groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered:9', '--to-earliest')).stderr,
    /UNKNOWN_TOPIC_OR_PARTITION: altered has no partition 9/,
  );
  t.match((await spate(undefined, 'groups', 'reset-offsets', '--group', 'reset-group', '--topic', 'altered')).stderr, /needs one of --to-earliest/);
  t.match((await spate(undefined, 'groups', 'reset-offsets', '--group', 'reset-group', '--to-latest')).stderr, /needs --topic/);

  // A group with a live member cannot be reset, as in Kafka.
  const consumer = kafka.consumer({ groupId: 'live-group' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'altered', fromBeginning: true });
  let joined: () => void;
  const running = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({ eachMessage: async () => undefined });
  await running;
  const refused = await spate(undefined, 'groups', 'reset-offsets', '--group', 'live-group', '--topic', 'altered', '--to-earliest', '--execute');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /Assignments can only be reset if the group 'live-group' is inactive, but the current state is Stable/);
});

t.test('progress bars only on a terminal', async (t) => {
  const broker = await startTestBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'spate-cli-progress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'records.txt');
  writeFileSync(file, Array.from({ length: 5000 }, (_, index) => `value-${index}`).join('\n'));
  const args = [BIN, 'produce', '--topic', 'progress', '--file', file, '--bootstrap-server', broker.bootstrap];
  const kafka = new Kafka({ clientId: 'cli-progress', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'progress', numPartitions: 1 }] });
  const piped = await run(process.execPath, args);
  t.equal(piped.code, 0, piped.stderr);
  t.equal(piped.stderr, '', 'piped: no progress bar');
  t.match(piped.stdout, /Produced 5000 records/);
  if (!existsSync('/usr/bin/script')) {
    t.comment('script(1) missing: the terminal case is not checked');
    return;
  }
  // script(1) gives the command a pseudo-terminal; its output is what the terminal showed.
  const command = [process.execPath, ...args].map((arg) => `'${arg}'`).join(' ');
  const terminal = await run('/usr/bin/script', ['-qec', command, '/dev/null']);
  t.equal(terminal.code, 0);
  t.match(terminal.stdout, /Producing .*records\.txt \[#+\] 100% [\d,]+\/[\d,]+ bytes/, 'the bar reaches 100%');
  t.match(terminal.stdout, /Produced 5000 records/);
  const reset = await run('/usr/bin/script', [
    '-qec',
    [process.execPath, BIN, 'groups', 'reset-offsets', '--group', 'g', '--topic', 'progress', '--to-earliest', '--bootstrap-server', broker.bootstrap]
      .map((arg) => `'${arg}'`)
      .join(' '),
    '/dev/null',
  ]);
  t.match(reset.stdout, /Resetting offsets \[#+\] 100% 1\/1 partitions/);
});
