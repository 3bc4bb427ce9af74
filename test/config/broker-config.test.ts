// Broker configuration: Kafka names and defaults, properties files, overrides, warnings for
// unknown keys and refusals that name the key.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfig } from '../../src/config/broker-config.js';
import { parseProperties } from '../../src/config/properties.js';
import { resolveLogConfig, validateTopicConfigs } from '../../src/config/topic-config.js';

t.test('defaults match Kafka where Spate follows it', async (t) => {
  const config = loadBrokerConfig();
  t.same(config.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
  t.equal(config.dataDir, './data');
  t.equal(config.numPartitions, 1);
  t.equal(config.autoCreateTopics, true);
  t.equal(config.messageMaxBytes, 1048588);
  t.equal(config.socketRequestMaxBytes, 104857600);
  t.equal(config.connectionsMaxIdleMs, 600000);
  const log = resolveLogConfig({}, config);
  t.equal(log.segmentBytes, 1073741824);
  t.equal(log.segmentMs, 7 * 24 * 3600 * 1000);
  t.equal(log.indexIntervalBytes, 4096);
});

t.test('a properties file, then overrides', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-config-'));
  const file = join(dir, 'server.properties');
  writeFileSync(
    file,
    '# comment\nnode.id=3\nlisteners=PLAINTEXT://0.0.0.0:19092\nlog.dirs=/tmp/a,/tmp/b\nnum.partitions = 4\nlog.segment.bytes: 1048576\nsome.unknown.key=1\nmessage.max.bytes=\\\n  2000\n',
  );
  const config = loadBrokerConfig({ configFile: file, overrides: { 'num.partitions': 6 } });
  t.equal(config.nodeId, 3);
  t.same(config.listeners[0], { name: 'PLAINTEXT', host: '0.0.0.0', port: 19092 });
  t.equal(config.dataDir, '/tmp/a');
  t.equal(config.numPartitions, 6, 'override wins over the file');
  t.equal(config.messageMaxBytes, 2000, 'continued line');
  t.equal(resolveLogConfig({}, config).segmentBytes, 1048576, 'topic default falls back to log.segment.bytes');
  t.equal(resolveLogConfig({ 'segment.bytes': '4096' }, config).segmentBytes, 4096, 'topic override wins');
  t.match(config.warnings.join('\n'), /some\.unknown\.key/);
});

t.test('invalid values are refused with the key named', async (t) => {
  t.throws(() => loadBrokerConfig({ overrides: { 'num.partitions': 0 } }), /num\.partitions.*at least 1/);
  t.throws(() => loadBrokerConfig({ overrides: { 'auto.create.topics.enable': 'yes' } }), /auto\.create\.topics\.enable/);
  t.throws(() => loadBrokerConfig({ overrides: { 'message.max.bytes': 'lots' } }), /message\.max\.bytes/);
  t.throws(() => loadBrokerConfig({ overrides: { listeners: 'localhost' } }), /listeners/);
  t.throws(() => loadBrokerConfig({ configFile: '/nonexistent/server.properties' }), /Cannot read config file/);
});

t.test('topic configs are validated by Kafka name', async (t) => {
  t.doesNotThrow(() => validateTopicConfigs({ 'cleanup.policy': 'compact,delete', 'retention.ms': '-1', 'segment.bytes': '1048576' }));
  t.throws(() => validateTopicConfigs({ 'no.such.config': '1' }), /no\.such\.config/);
  t.throws(() => validateTopicConfigs({ 'cleanup.policy': 'shred' }), /cleanup\.policy/);
  t.throws(() => validateTopicConfigs({ 'segment.bytes': '1' }), /segment\.bytes/);
  t.throws(() => validateTopicConfigs({ 'min.cleanable.dirty.ratio': '2' }), /min\.cleanable\.dirty\.ratio/);
});

t.test('properties parsing handles separators and escapes', async (t) => {
  const parsed = parseProperties('a=1\nb : 2\nc 3\n! bang comment\nd=x\\ty\ne=\\u0041\n');
  t.same(Object.fromEntries(parsed), { a: '1', b: '2', c: '3', d: 'x\ty', e: 'A' });
});
