// Feature flags (KIP-584): ApiVersions v3+ carries the supported and finalised levels, and
// UpdateFeatures changes them, durably, as `kafka-features describe|upgrade|downgrade` see it.
// group.version 0 switches the KIP-848 consumer protocol off, as in Kafka.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const heartbeat = {
  groupId: 'fg',
  memberId: 'm-1',
  memberEpoch: 0,
  instanceId: null,
  rackId: null,
  rebalanceTimeoutMs: 30000,
  subscribedTopicNames: ['x'],
  subscribedTopicRegex: null,
  serverAssignor: null,
  topicPartitions: [],
};

t.test('ApiVersions features and UpdateFeatures at the wire level', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-features-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let broker = await startTestBroker(t, { dataDir });
  let client = await RawClient.connect(broker.bootstrap);
  const versions = async (version: number) => (await client.request(18, version, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).body;
  const v4 = await versions(4);
  t.same(
    v4.supportedFeatures.map((f: any) => [f.name, f.minVersion, f.maxVersion]),
    [
      ['metadata.version', 7, 30],
      ['group.version', 0, 1],
      ['transaction.version', 0, 2],
      ['share.version', 0, 1],
      ['streams.version', 0, 1],
    ],
  );
  t.same(
    v4.finalizedFeatures.map((f: any) => [f.name, f.maxVersionLevel]),
    [
      ['group.version', 1],
      ['metadata.version', 30],
      ['share.version', 1],
      ['streams.version', 1],
      ['transaction.version', 2],
    ],
  );
  t.equal(v4.finalizedFeaturesEpoch, 0n);
  t.same(
    (await versions(3)).supportedFeatures.map((f: any) => f.name),
    ['metadata.version'],
    'v3 leaves out features whose minimum is 0',
  );

  const update = async (version: number, feature: string, maxVersionLevel: number, upgradeType = 1, validateOnly = false) =>
    (await client.request(57, version, { timeoutMs: 1000, featureUpdates: [{ feature, maxVersionLevel, upgradeType, allowDowngrade: upgradeType !== 1 }], validateOnly })).body;
  t.match(await update(1, 'transaction.version', 3), { errorCode: 0, results: [{ errorCode: ErrorCode.INVALID_UPDATE_VERSION }] }, 'beyond the supported range');
  t.match((await update(2, 'group.version', 0)).errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'a downgrade needs a downgrade type');
  t.match((await update(2, 'metadata.version', 20, 2)).errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'metadata.version is never downgraded');
  t.match((await update(2, 'nope.version', 1)).errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'unknown feature');
  t.equal((await update(2, 'group.version', 0, 2, true)).errorCode, 0, 'validate only');
  t.equal((await versions(4)).finalizedFeaturesEpoch, 0n, 'validate only changes nothing');

  t.equal((await client.request(68, 1, heartbeat)).body.errorCode, 0, 'the consumer protocol is on');
  t.equal((await update(2, 'group.version', 0, 2)).errorCode, 0, 'safe downgrade of group.version');
  t.equal((await client.request(68, 1, heartbeat)).body.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'group.version 0: the consumer protocol is off');

  client.close();
  await broker.stop();
  broker = await startTestBroker(t, { dataDir });
  client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const after = await versions(4);
  t.equal(after.finalizedFeaturesEpoch, 1n, 'the epoch survives a restart');
  t.notOk(
    after.finalizedFeatures.some((f: any) => f.name === 'group.version'),
    'group.version stays disabled',
  );
  t.equal((await update(0, 'group.version', 1)).results[0].errorCode, 0, 'v0 upgrade');
  t.equal((await client.request(68, 1, heartbeat)).body.errorCode, 0, 'on again');
});

t.test('kafka-features describe, downgrade and upgrade', { skip: !javaToolsAvailable() && 'Kafka Java tools missing' }, async (t) => {
  const broker = await startTestBroker(t);
  const tool = (args: string[]) => runKafkaTool(TOOLS.features, ['--bootstrap-server', broker.bootstrap, ...args]);
  const described = await tool(['describe']);
  t.equal(described.code, 0, described.stderr.slice(-2000));
  t.match(described.stdout, /Feature: group\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 1\s+FinalizedVersionLevel: 1/);
  t.match(described.stdout, /Feature: metadata\.version\s+SupportedMinVersion: 3\.3-IV3\s+SupportedMaxVersion: 4\.3-IV0\s+FinalizedVersionLevel: 4\.3-IV0/);
  t.match(described.stdout, /Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: 2/);
  const refused = await tool(['upgrade', '--feature', 'transaction.version=3']);
  t.not(refused.code, 0, 'beyond the supported levels');
  t.match(refused.stdout + refused.stderr, /transaction\.version/);
  const down = await tool(['downgrade', '--feature', 'group.version=0']);
  t.equal(down.code, 0, down.stdout + down.stderr.slice(-1500));
  t.match((await tool(['describe'])).stdout, /Feature: group\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 1\s+FinalizedVersionLevel: 0/);
  const up = await tool(['upgrade', '--feature', 'group.version=1']);
  t.equal(up.code, 0, up.stdout + up.stderr.slice(-1500));
  t.match((await tool(['describe'])).stdout, /Feature: group\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 1\s+FinalizedVersionLevel: 1/);
});
