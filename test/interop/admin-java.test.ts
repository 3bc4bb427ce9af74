// Kafka 4.3.1's own administration tools against Spate: kafka-topics --alter, --delete and
// --describe; kafka-configs --describe --all compared key by key with Kafka 4.3's topic
// configs and defaults, --alter --add-config / --delete-config for topics and brokers;
// kafka-delete-records.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';
import { KAFKA_TOPIC_CONFIG_DEFAULTS } from '../admin/kafka-topic-configs.js';

/** kafka-configs --describe output: "  name=value sensitive=false synonyms={...}" per config. */
function parseDescribe(stdout: string): Map<string, { value: string; synonyms: string }> {
  const configs = new Map<string, { value: string; synonyms: string }>();
  for (const line of stdout.split('\n')) {
    const match = /^\s+([a-z0-9.]+)=(.*?) sensitive=(?:true|false) synonyms=\{(.*)\}$/.exec(line);
    if (match !== null) configs.set(match[1]!, { value: match[2]!, synonyms: match[3]! });
  }
  return configs;
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-configs describes every Kafka 4.3 topic config with its default, and alters them', async (t) => {
    const broker = await startTestBroker(t);
    const bootstrap = broker.bootstrap;
    const configs = (...args: string[]) => runKafkaTool(TOOLS.configs, ['--bootstrap-server', bootstrap, ...args]);
    await kcatProduce(bootstrap, 'described', ['one']);

    const all = await configs('--describe', '--all', '--entity-type', 'topics', '--entity-name', 'described');
    t.equal(all.code, 0, all.stderr);
    t.match(all.stdout, /All configs for topic described are:/);
    const described = parseDescribe(all.stdout);
    t.same([...described.keys()].sort(), Object.keys(KAFKA_TOPIC_CONFIG_DEFAULTS).sort(), 'the same keys as Kafka 4.3');
    for (const [name, value] of Object.entries(KAFKA_TOPIC_CONFIG_DEFAULTS)) t.equal(described.get(name)?.value, value, `${name}=${value}`);
    t.equal(described.get('cleanup.policy')!.synonyms, 'DEFAULT_CONFIG:log.cleanup.policy=delete');

    const altered = await configs(
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      'described',
      '--add-config',
      'retention.ms=120000,cleanup.policy=[compact,delete],max.message.bytes=50000',
    );
    t.equal(altered.code, 0, altered.stderr);
    t.match(altered.stdout, /Completed updating config for topic described/);
    const overrides = parseDescribe((await configs('--describe', '--entity-type', 'topics', '--entity-name', 'described')).stdout);
    t.same(Object.fromEntries([...overrides].map(([name, { value }]) => [name, value])), {
      'cleanup.policy': 'compact,delete',
      'max.message.bytes': '50000',
      'retention.ms': '120000',
    });
    t.equal(broker.logs.partition('described', 0)!.logConfig.retentionMs, 120000, 'applied live');

    const removed = await configs('--alter', '--entity-type', 'topics', '--entity-name', 'described', '--delete-config', 'max.message.bytes');
    t.equal(removed.code, 0, removed.stderr);
    t.same(broker.logs.topic('described')!.configs, { 'retention.ms': '120000', 'cleanup.policy': 'compact,delete' });

    const invalid = await configs('--alter', '--entity-type', 'topics', '--entity-name', 'described', '--add-config', 'segment.bytes=12');
    t.not(invalid.code, 0);
    t.match(invalid.stdout + invalid.stderr, /segment\.bytes/, 'the refusal names the key');
    t.same(broker.logs.topic('described')!.configs, { 'retention.ms': '120000', 'cleanup.policy': 'compact,delete' }, 'nothing applied');

    const brokerDefault = await configs('--alter', '--entity-type', 'brokers', '--entity-default', '--add-config', 'log.retention.bytes=1000000');
    t.equal(brokerDefault.code, 0, brokerDefault.stderr);
    const brokerAll = parseDescribe((await configs('--describe', '--all', '--entity-type', 'brokers', '--entity-name', String(broker.config.nodeId))).stdout);
    t.equal(brokerAll.get('log.retention.bytes')?.value, '1000000');
    t.match(brokerAll.get('log.retention.bytes')?.synonyms, /DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.bytes=1000000/);
    t.equal(
      parseDescribe((await configs('--describe', '--all', '--entity-type', 'topics', '--entity-name', 'described')).stdout).get('retention.bytes')?.value,
      '1000000',
      'topics inherit the dynamic default',
    );
  });

  t.test('kafka-topics --alter, --describe, --delete and kafka-delete-records', async (t) => {
    const broker = await startTestBroker(t);
    const bootstrap = broker.bootstrap;
    const topics = (...args: string[]) => runKafkaTool(TOOLS.topics, ['--bootstrap-server', bootstrap, ...args]);
    const created = await topics('--create', '--topic', 'managed', '--partitions', '1', '--config', 'retention.ms=3600000');
    t.equal(created.code, 0, created.stderr);

    const altered = await topics('--alter', '--topic', 'managed', '--partitions', '3');
    t.equal(altered.code, 0, altered.stderr);
    const described = await topics('--describe', '--topic', 'managed');
    t.match(described.stdout, /PartitionCount: 3/);
    t.match(described.stdout, /Configs: retention\.ms=3600000/);
    const shrink = await topics('--alter', '--topic', 'managed', '--partitions', '2');
    t.not(shrink.code, 0);
    t.match(shrink.stdout + shrink.stderr, /would not be an increase|InvalidPartitionsException/);

    await kcatProduce(
      bootstrap,
      'managed',
      Array.from({ length: 10 }, (_, i) => `r${i}`),
      ['-p', '0'],
    );
    const dir = mkdtempSync(join(tmpdir(), 'spate-delete-records-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const offsets = join(dir, 'offsets.json');
    writeFileSync(offsets, JSON.stringify({ version: 1, partitions: [{ topic: 'managed', partition: 0, offset: 7 }] }));
    const deleted = await runKafkaTool(TOOLS.deleteRecords, ['--bootstrap-server', bootstrap, '--offset-json-file', offsets]);
    t.equal(deleted.code, 0, deleted.stderr);
    t.match(deleted.stdout, /partition: managed-0\s+low_watermark: 7/);
    t.same(
      (await kcatConsume(bootstrap, 'managed', ['-p', '0'])).map((r) => r.value),
      ['r7', 'r8', 'r9'],
    );

    const removed = await topics('--delete', '--topic', 'managed');
    t.equal(removed.code, 0, removed.stderr);
    t.equal(broker.logs.topic('managed'), undefined);
    const listed = await topics('--list');
    t.notMatch(listed.stdout, /^managed$/m);
  });
}
