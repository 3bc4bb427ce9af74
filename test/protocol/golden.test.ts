// Golden bytes written by hand from the protocol definitions (field order, widths, compact
// encodings and tagged fields), not produced by the code under test. Each case checks both
// directions: the writer produces exactly these bytes, and the reader decodes them to the message.

import t, { type Test } from 'tap';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/frame.js';
import { ApiKey, apiSchemas } from '../../src/protocol/generated/index.js';
import { ProtocolEncodeError, Reader, Writer } from '../../src/protocol/primitives.js';

/** Hex with spaces and `#` comments to end of line. */
const hex = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '')
    .toLowerCase();
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const UUID = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');

type Kind = 'request' | 'response';

function encodeBody(kind: Kind, apiKey: number, version: number, message: unknown): string {
  const schema = apiSchemas.get(apiKey)!;
  const w = new Writer();
  if (kind === 'request') schema.writeRequest(w, version, message);
  else schema.writeResponse(w, version, message);
  return w.toBuffer().toString('hex');
}

function decodeBody(kind: Kind, apiKey: number, version: number, bytes: string): any {
  const schema = apiSchemas.get(apiKey)!;
  const r = new Reader(Buffer.from(bytes, 'hex'));
  const message = kind === 'request' ? schema.readRequest(r, version) : schema.readResponse(r, version);
  if (r.remaining() !== 0) throw new Error(`${r.remaining()} bytes left over`);
  return message;
}

function golden(t: Test, kind: Kind, apiKey: number, version: number, message: object, bytes: string, decoded: object = message): void {
  const name = `${apiSchemas.get(apiKey)!.name} ${kind} v${version}`;
  t.equal(encodeBody(kind, apiKey, version, message), bytes, `${name}: encode`);
  t.has(decodeBody(kind, apiKey, version, bytes), decoded, `${name}: decode`);
}

t.test('ApiVersions', async (t) => {
  // v0 request: header v1 (int16 clientId length), empty body.
  t.equal(
    encodeRequest(ApiKey.ApiVersions, 0, 7, 'abc', {}).toString('hex'),
    hex(`
      0000000d            # size 13
      0012 0000           # api key 18, version 0
      00000007            # correlation id
      0003 ${ascii('abc')} # client id, int16 length even in header v2
    `),
  );
  // v3 request: header v2 (tagged fields after the client id), compact strings in the body.
  const v3 = hex(`
    0000001b
    0012 0003 00000007 0003 ${ascii('abc')}
    00                    # header tagged fields
    06 ${ascii('spate')}  # clientSoftwareName, compact
    06 ${ascii('0.1.0')}  # clientSoftwareVersion
    00                    # tagged fields
  `);
  t.equal(encodeRequest(ApiKey.ApiVersions, 3, 7, 'abc', { clientSoftwareName: 'spate', clientSoftwareVersion: '0.1.0' }).toString('hex'), v3);
  const decoded = decodeRequest(Buffer.from(v3, 'hex').subarray(4));
  t.same(decoded.header, { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'abc', headerVersion: 2 });
  t.same(decoded.body, { clientSoftwareName: 'spate', clientSoftwareVersion: '0.1.0' });

  // v0 response: header v0, no throttle time.
  const body = {
    errorCode: 0,
    apiKeys: [
      { apiKey: 0, minVersion: 3, maxVersion: 13 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ],
  };
  const v0Response = hex(`
    00000016              # size 22
    00000007              # correlation id (header v0)
    0000                  # error code
    00000002              # api keys, int32 count
    0000 0003 000d
    0012 0000 0004
  `);
  t.equal(Buffer.concat(encodeResponse(ApiKey.ApiVersions, 0, 7, body) as Buffer[]).toString('hex'), v0Response);
  t.has(decodeResponse(ApiKey.ApiVersions, 0, Buffer.from(v0Response, 'hex').subarray(4)), {
    correlationId: 7,
    body: { ...body, throttleTimeMs: 0 },
  });

  // v3 response: flexible body, but still response header v0 (no tagged-field byte after the
  // correlation id). Tagged fields 0 (SupportedFeatures) and 1 (FinalizedFeaturesEpoch).
  const v3Body = {
    ...body,
    throttleTimeMs: 100,
    supportedFeatures: [{ name: 'metadata.version', minVersion: 1, maxVersion: 25 }],
    finalizedFeaturesEpoch: 5n,
  };
  const v3Response = hex(`
    0000003d              # size 61
    00000007              # correlation id, header v0 for ApiVersions
    0000                  # error code
    03                    # compact count 2 + 1
    0000 0003 000d 00
    0012 0000 0004 00
    00000064              # throttle time 100
    02                    # two tagged fields
    00 17                 # tag 0, 23 bytes
      02 11 ${ascii('metadata.version')} 0001 0019 00
    01 08 0000000000000005  # tag 1, int64 epoch 5
  `);
  t.equal(Buffer.concat(encodeResponse(ApiKey.ApiVersions, 3, 7, v3Body) as Buffer[]).toString('hex'), v3Response);
  t.has(decodeResponse(ApiKey.ApiVersions, 3, Buffer.from(v3Response, 'hex').subarray(4)).body, {
    ...v3Body,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  // Another flexible API does get response header v1.
  t.equal(
    (encodeResponse(ApiKey.InitProducerId, 2, 7, { throttleTimeMs: 0, errorCode: 0, producerId: 1n, producerEpoch: 0 })[0] as Buffer).subarray(4, 9).toString('hex'),
    '0000000700',
  );
});

t.test('Metadata request', async (t) => {
  golden(t, 'request', ApiKey.Metadata, 0, { topics: [{ name: 'foo' }] }, hex(`00000001 0003 ${ascii('foo')}`));
  t.throws(() => encodeBody('request', ApiKey.Metadata, 0, { topics: null }), ProtocolEncodeError, 'v0 cannot say "all topics" with null');
  golden(t, 'request', ApiKey.Metadata, 1, { topics: null }, hex('ffffffff'), { topics: null, allowAutoTopicCreation: true });
  golden(
    t,
    'request',
    ApiKey.Metadata,
    9,
    { topics: [{ name: 'foo' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: false },
    hex(`
      02 04 ${ascii('foo')} 00   # one topic: compact name, tagged fields
      00                         # allowAutoTopicCreation
      01                         # includeClusterAuthorizedOperations (v8-10)
      00                         # includeTopicAuthorizedOperations
      00
    `),
  );
  golden(
    t,
    'request',
    ApiKey.Metadata,
    12,
    { topics: [{ topicId: UUID, name: null }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: true },
    hex(`
      02 ${UUID.toString('hex')} 00 00   # topic id, null name (nullable from v10)
      01 01                              # no cluster operations flag after v10
      00
    `),
    { topics: [{ topicId: UUID, name: null }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false },
  );
});

t.test('Produce request', async (t) => {
  const records = Buffer.from('xyz');
  golden(
    t,
    'request',
    ApiKey.Produce,
    3,
    { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 'foo', partitionData: [{ index: 0, records }] }] },
    hex(`
      ffff                      # transactional id null
      ffff                      # acks -1
      00007530                  # timeout 30000
      00000001 0003 ${ascii('foo')}
      00000001 00000000 00000003 ${ascii('xyz')}
    `),
  );
  golden(
    t,
    'request',
    ApiKey.Produce,
    9,
    { transactionalId: 'tx', acks: 1, timeoutMs: 30000, topicData: [{ name: 'foo', partitionData: [{ index: 2, records }] }] },
    hex(`
      03 ${ascii('tx')}
      0001 00007530
      02 04 ${ascii('foo')}
      02 00000002 04 ${ascii('xyz')} 00   # compact records
      00                                  # topic tagged fields
      00
    `),
  );
});

t.test('Fetch', async (t) => {
  golden(
    t,
    'request',
    ApiKey.Fetch,
    4,
    {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 1,
      topics: [{ topic: 'foo', partitions: [{ partition: 0, fetchOffset: 100n, partitionMaxBytes: 1048576 }] }],
    },
    hex(`
      ffffffff 000001f4 00000001 00100000 01
      00000001 0003 ${ascii('foo')}
      00000001 00000000 0000000000000064 00100000
    `),
  );
  golden(
    t,
    'request',
    ApiKey.Fetch,
    12,
    {
      clusterId: 'c',
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'foo',
          partitions: [{ partition: 0, currentLeaderEpoch: 5, fetchOffset: 100n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1048576 }],
        },
      ],
      forgottenTopicsData: [],
      rackId: 'r1',
    },
    hex(`
      ffffffff 000001f4 00000001 00100000 00
      00000000 ffffffff                    # session id, epoch
      02 04 ${ascii('foo')}
        02 00000000 00000005 0000000000000064 ffffffff ffffffffffffffff 00100000 00
        00
      01                                   # no forgotten topics
      03 ${ascii('r1')}
      01 00 02 02 ${ascii('c')}            # tag 0 (cluster id), 2 bytes
    `),
  );
  golden(
    t,
    'response',
    ApiKey.Fetch,
    4,
    {
      throttleTimeMs: 0,
      responses: [
        {
          topic: 'foo',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 10n,
              lastStableOffset: 10n,
              abortedTransactions: [{ producerId: 7n, firstOffset: 3n }],
              records: Buffer.from('xyz'),
            },
          ],
        },
      ],
    },
    hex(`
      00000000
      00000001 0003 ${ascii('foo')}
      00000001 00000000 0000 000000000000000a 000000000000000a
      00000001 0000000000000007 0000000000000003
      00000003 ${ascii('xyz')}
    `),
  );
  golden(
    t,
    'response',
    ApiKey.Fetch,
    12,
    {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'foo',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 10n,
              lastStableOffset: 10n,
              logStartOffset: 0n,
              currentLeader: { leaderId: 1, leaderEpoch: 2 },
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: Buffer.from('xyz'),
            },
          ],
        },
      ],
    },
    hex(`
      00000000 0000 00000000
      02 04 ${ascii('foo')}
        02 00000000 0000 000000000000000a 000000000000000a 0000000000000000
        00                                 # aborted transactions: null
        ffffffff                           # preferred read replica
        04 ${ascii('xyz')}
        01 01 09 00000001 00000002 00      # tag 1 CurrentLeader: 9 bytes, its own empty tag section
        00
      00
    `),
  );
});

t.test('CreateTopics request and response', async (t) => {
  const topic = {
    name: 'foo',
    numPartitions: 3,
    replicationFactor: 1,
    assignments: [],
    configs: [{ name: 'cleanup.policy', value: 'compact' }],
  };
  golden(
    t,
    'request',
    ApiKey.CreateTopics,
    2,
    { topics: [topic], timeoutMs: 30000, validateOnly: false },
    hex(`
      00000001 0003 ${ascii('foo')} 00000003 0001
      00000000                                          # assignments
      00000001 000e ${ascii('cleanup.policy')} 0007 ${ascii('compact')}
      00007530 00
    `),
  );
  golden(
    t,
    'request',
    ApiKey.CreateTopics,
    5,
    { topics: [{ ...topic, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] }], timeoutMs: 30000, validateOnly: true },
    hex(`
      02 04 ${ascii('foo')} 00000003 0001
        02 00000000 03 00000001 00000002 00             # one assignment, compact int32 array
        02 0f ${ascii('cleanup.policy')} 08 ${ascii('compact')} 00
        00
      00007530 01 00
    `),
  );
  golden(
    t,
    'response',
    ApiKey.CreateTopics,
    5,
    {
      throttleTimeMs: 0,
      topics: [{ name: 'foo', errorCode: 40, errorMessage: null, topicConfigErrorCode: 40, numPartitions: -1, replicationFactor: -1, configs: null }],
    },
    hex(`
      00000000
      02 04 ${ascii('foo')} 0028 00 ffffffff ffff 00
        01 00 02 0028                                   # tag 0 TopicConfigErrorCode, not at its default
      00
    `),
  );
});

t.test('ListOffsets request', async (t) => {
  golden(
    t,
    'request',
    ApiKey.ListOffsets,
    1,
    { replicaId: -1, topics: [{ name: 'foo', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] },
    hex(`ffffffff 00000001 0003 ${ascii('foo')} 00000001 00000000 ffffffffffffffff`),
    { replicaId: -1, isolationLevel: 0, topics: [{ name: 'foo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] },
  );
  golden(
    t,
    'request',
    ApiKey.ListOffsets,
    6,
    { replicaId: -1, isolationLevel: 1, topics: [{ name: 'foo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] },
    hex(`
      ffffffff 01
      02 04 ${ascii('foo')}
        02 00000000 ffffffff fffffffffffffffe 00
        00
      00
    `),
  );
});

t.test('InitProducerId', async (t) => {
  golden(t, 'request', ApiKey.InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60000 }, hex('ffff 0000ea60'));
  golden(t, 'request', ApiKey.InitProducerId, 2, { transactionalId: 'tx', transactionTimeoutMs: 60000 }, hex(`03 ${ascii('tx')} 0000ea60 00`), {
    transactionalId: 'tx',
    transactionTimeoutMs: 60000,
    producerId: -1n,
    producerEpoch: -1,
  });
  golden(t, 'response', ApiKey.InitProducerId, 0, { throttleTimeMs: 0, errorCode: 0, producerId: 4000n, producerEpoch: 0 }, hex('00000000 0000 0000000000000fa0 0000'));
  golden(t, 'response', ApiKey.InitProducerId, 2, { throttleTimeMs: 0, errorCode: 0, producerId: 4000n, producerEpoch: 0 }, hex('00000000 0000 0000000000000fa0 0000 00'));
});

t.test('FindCoordinator', async (t) => {
  golden(t, 'request', ApiKey.FindCoordinator, 0, { key: 'group' }, hex(`0005 ${ascii('group')}`), { key: 'group', keyType: 0, coordinatorKeys: [] });
  golden(t, 'request', ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['group'] }, hex(`00 02 06 ${ascii('group')} 00`), {
    key: '',
    keyType: 0,
    coordinatorKeys: ['group'],
  });
  golden(t, 'response', ApiKey.FindCoordinator, 0, { errorCode: 0, nodeId: 1, host: 'h', port: 9092 }, hex(`0000 00000001 0001 ${ascii('h')} 00002384`));
  golden(
    t,
    'response',
    ApiKey.FindCoordinator,
    4,
    { throttleTimeMs: 0, coordinators: [{ key: 'group', nodeId: 1, host: 'h', port: 9092, errorCode: 0, errorMessage: null }] },
    hex(`00000000 02 06 ${ascii('group')} 00000001 02 ${ascii('h')} 00002384 0000 00 00 00`),
  );
});

t.test('request header v2 keeps the int16 client id and reads its tagged fields', async (t) => {
  // Produce v9 with a tagged field in the header (tag 5, 1 byte) that must be skipped.
  const frame = Buffer.from(
    hex(`
      0000 0009 0000002a ffff      # produce v9, correlation 42, null client id
      01 05 01 ff                  # header tagged fields: tag 5, 1 byte
      00 0001 00007530 01 00       # null txn id, acks 1, timeout, no topics, no tags
    `),
    'hex',
  );
  const { header, body } = decodeRequest(frame);
  t.same(header, { apiKey: 0, apiVersion: 9, correlationId: 42, clientId: null, headerVersion: 2 });
  t.same(body, { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [] });
});
