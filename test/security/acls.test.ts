// ACLs as Kafka enforces them, with kafkajs over SASL PLAIN: CreateAcls/DescribeAcls/
// DeleteAcls, literal and prefixed patterns, deny over allow, a super user, Metadata that
// leaves out what a principal may not describe, authorized operations answered for real,
// the idempotent and transactional producer's rights, and the ACLs kept across a restart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { startBroker, type SpateBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceTypes = kafkajs.AclResourceTypes;
type AclOperationTypes = kafkajs.AclOperationTypes;
type AclPermissionTypes = kafkajs.AclPermissionTypes;
type ResourcePatternTypes = kafkajs.ResourcePatternTypes;

const dataDir = mkdtempSync(join(tmpdir(), 'spate-acls-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

const config = {
  listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
  'sasl.enabled.mechanisms': 'PLAIN',
  'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw" user_bob="bob-pw";',
  'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'super.users': 'User:admin',
};

const start = (): Promise<SpateBroker> => startBroker({ dataDir, logLevel: 'warn', config });

function client(broker: SpateBroker, username: string): Kafka {
  return new Kafka({
    clientId: `acl-${username}`,
    brokers: [broker.bootstrap],
    sasl: { mechanism: 'plain', username, password: `${username}-pw` },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

const acl = (
  resourceType: AclResourceTypes,
  resourceName: string,
  pattern: ResourcePatternTypes,
  principal: string,
  operation: AclOperationTypes,
  permission: AclPermissionTypes,
) => ({
  resourceType,
  resourceName,
  resourcePatternType: pattern,
  principal,
  host: '*',
  operation,
  permissionType: permission,
});

async function rawAs(broker: SpateBroker, user: string): Promise<RawClient> {
  const raw = await RawClient.connect(broker.bootstrap);
  await raw.request(17, 1, { mechanism: 'PLAIN' }, 1);
  const { body } = await raw.request(36, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-pw`) }, 2);
  if (body.errorCode !== 0) throw new Error(`login failed: ${body.errorMessage}`);
  return raw;
}

t.test('ACLs decide who may do what', async (t) => {
  const broker = await start();
  t.teardown(() => broker.stop());
  const admin = client(broker, 'admin').admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: ['orders', 'app-events', 'app-logs', 'secret'].map((topic) => ({ topic })) });
  await admin.createAcls({
    acl: [
      acl(AclResourceTypes.TOPIC, 'orders', ResourcePatternTypes.LITERAL, 'User:alice', AclOperationTypes.WRITE, AclPermissionTypes.ALLOW),
      acl(AclResourceTypes.TOPIC, 'app-', ResourcePatternTypes.PREFIXED, 'User:alice', AclOperationTypes.READ, AclPermissionTypes.ALLOW),
      acl(AclResourceTypes.TOPIC, 'app-logs', ResourcePatternTypes.LITERAL, 'User:alice', AclOperationTypes.READ, AclPermissionTypes.DENY),
      acl(AclResourceTypes.GROUP, 'alice-', ResourcePatternTypes.PREFIXED, 'User:alice', AclOperationTypes.READ, AclPermissionTypes.ALLOW),
    ],
  });

  const matching = await admin.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: 'app-logs',
    resourcePatternType: ResourcePatternTypes.MATCH,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  t.same(
    matching.resources.map((r) => [r.resourceName, r.resourcePatternType, r.acls.map((a) => a.permissionType)]).sort(),
    [
      ['app-', ResourcePatternTypes.PREFIXED, [AclPermissionTypes.ALLOW]],
      ['app-logs', ResourcePatternTypes.LITERAL, [AclPermissionTypes.DENY]],
    ],
    'a MATCH filter finds the prefixed allow and the literal deny that apply to app-logs',
  );

  const alice = client(broker, 'alice');
  const aliceAdmin = alice.admin();
  await aliceAdmin.connect();
  t.same((await aliceAdmin.listTopics()).sort(), ['app-events', 'app-logs', 'orders'], 'Metadata lists only topics alice may describe');
  await t.rejects(
    aliceAdmin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    }),
    /authoriz/i,
    'DescribeAcls needs DESCRIBE on the cluster',
  );
  const creation = await aliceAdmin.createTopics({ topics: [{ topic: 'alice-new' }] }).then(
    () => undefined,
    (error: { errors?: Array<{ type: string }> }) => error,
  );
  t.equal(creation?.errors?.[0]?.type, 'TOPIC_AUTHORIZATION_FAILED', 'CreateTopics needs CREATE');
  await aliceAdmin.disconnect();

  const producer = alice.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ value: 'allowed' }] });
  t.pass('alice writes to orders (literal WRITE)');
  await t.rejects(producer.send({ topic: 'app-events', messages: [{ value: 'x' }] }), /authoriz/i, 'READ does not allow writing');
  await producer.disconnect();

  // The admin (a super user) writes what alice will read.
  const adminProducer = client(broker, 'admin').producer();
  await adminProducer.connect();
  await adminProducer.send({ topic: 'app-events', messages: [{ value: 'event' }] });
  await adminProducer.send({ topic: 'app-logs', messages: [{ value: 'log' }] });
  await adminProducer.disconnect();

  const consumer = alice.consumer({ groupId: 'alice-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'app-events', fromBeginning: true });
  const value = await new Promise<string>((resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }));
  await consumer.disconnect();
  t.equal(value, 'event', 'alice reads app-events in group alice-readers (prefixed READ on topic and group)');

  // Raw requests show the exact codes.
  const raw = await rawAs(broker, 'alice');
  const fetch = await raw.request(
    1,
    12,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1048576,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: ['app-logs', 'app-events'].map((topic) => ({
        topic,
        partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1048576 }],
      })),
      forgottenTopicsData: [],
      rackId: '',
    },
    3,
  );
  t.same(
    fetch.body.responses.map((r: any) => [r.topic, r.partitions[0].errorCode]),
    [
      ['app-logs', 29],
      ['app-events', 0],
    ],
    'DENY READ on app-logs wins over the prefixed ALLOW',
  );
  const metadata = await raw.request(
    3,
    12,
    {
      topics: [
        { name: 'orders', topicId: Buffer.alloc(16) },
        { name: 'secret', topicId: Buffer.alloc(16) },
      ],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    },
    4,
  );
  const [orders, secret] = metadata.body.topics;
  t.equal(orders.topicAuthorizedOperations, (1 << AclOperationTypes.WRITE) | (1 << AclOperationTypes.DESCRIBE), 'orders: WRITE and (implied) DESCRIBE');
  t.equal(secret.errorCode, 29, 'a named topic alice may not describe: TOPIC_AUTHORIZATION_FAILED');
  const idempotent = await raw.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, 5);
  t.equal(idempotent.body.errorCode, 0, 'idempotent producer: WRITE on some topic is enough (KIP-679)');
  const transactional = await raw.request(22, 4, { transactionalId: 'alice-txn', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, 6);
  t.equal(transactional.body.errorCode, 53, 'transactional producer without WRITE on its id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  const commit = await raw.request(
    8,
    8,
    {
      groupId: 'other-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{ name: 'app-events', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    },
    7,
  );
  t.equal(commit.body.topics[0].partitions[0].errorCode, 30, 'OffsetCommit to a group without READ: GROUP_AUTHORIZATION_FAILED');
  raw.close();

  const bob = await rawAs(broker, 'bob');
  const bobTopics = await bob.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 3);
  t.same(bobTopics.body.topics, [], 'bob sees no topics');
  t.equal(
    (await bob.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, 4)).body.errorCode,
    31,
    'bob may not be an idempotent producer: CLUSTER_AUTHORIZATION_FAILED',
  );
  const deleted = await bob.request(20, 6, { topics: [{ name: 'secret', topicId: Buffer.alloc(16) }], timeoutMs: 1000 }, 5);
  t.equal(deleted.body.responses[0].errorCode, 29, 'bob may not delete topics');
  bob.close();

  const removed = await admin.deleteAcls({
    filters: [
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: 'app-logs',
        resourcePatternType: ResourcePatternTypes.LITERAL,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.DENY,
      },
    ],
  });
  t.equal(removed.filterResponses[0]!.matchingAcls.length, 1, 'DeleteAcls removes the deny');
  const again = await rawAs(broker, 'alice');
  const refetch = await again.request(
    1,
    12,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1048576,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic: 'app-logs', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1048576 }] },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
    3,
  );
  t.equal(refetch.body.responses[0].partitions[0].errorCode, 0, 'without the deny the prefixed ALLOW lets alice read app-logs');
  again.close();
});

t.test('ACLs survive a restart', async (t) => {
  const broker = await start();
  t.teardown(() => broker.stop());
  const admin = client(broker, 'admin').admin();
  await admin.connect();
  const all = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  await admin.disconnect();
  t.equal(all.resources.flatMap((r) => r.acls).length, 3, 'the three remaining ACLs are back');
});
