// The Java consumer with the KIP-848 protocol (group.protocol=consumer): a console consumer
// takes a 4-partition topic alone, a second one joins and the first hands over half of the
// partitions through the coordinator's revoke-then-assign reconciliation; each gets records
// and together exactly the produced set, none twice. kafka-consumer-groups lists the group
// and describes its members and committed offsets while they run.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatProduce } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 'kip848';
const GROUP = 'kip848-group';
const PARTITIONS = 4;
const PER_ROUND = 20;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('a second Java consumer (group.protocol=consumer) joins and takes over half the partitions', async (t) => {
    const broker = await startTestBroker(t, {
      config: { 'group.initial.rebalance.delay.ms': 0, 'group.consumer.heartbeat.interval.ms': 500 },
    });
    const bootstrap = broker.bootstrap;
    const client = await RawClient.connect(bootstrap);
    t.teardown(() => client.close());
    let correlation = 1;
    const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
    await call(19, 5, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });

    const consume = (name: string) =>
      runKafkaTool(
        TOOLS.consoleConsumer,
        [
          '--bootstrap-server',
          bootstrap,
          '--topic',
          TOPIC,
          '--group',
          GROUP,
          '--from-beginning',
          '--timeout-ms',
          '30000',
          '--consumer-property',
          'group.protocol=consumer',
          '--consumer-property',
          `client.id=${name}`,
          '--consumer-property',
          'auto.commit.interval.ms=500',
        ],
        undefined,
        120_000,
      );
    const describe = async () => (await call(69, 1, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0];
    const assignedCounts = (group: any) => group.members.map((m: any) => m.assignment.topicPartitions.reduce((n: number, tp: any) => n + tp.partitions.length, 0));
    const produced: string[] = [];
    const produce = async (round: string) => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const lines = Array.from({ length: PER_ROUND }, (_, i) => `${round}-p${partition}-${i}`);
        produced.push(...lines);
        await kcatProduce(bootstrap, TOPIC, lines, ['-p', String(partition)]);
      }
    };
    const committedUpTo = (end: number) =>
      waitFor(`offsets committed up to ${end}`, async () => {
        const fetched = await call(9, 8, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2, 3] }] }], requireStable: false });
        const offsets = fetched.groups[0].topics[0].partitions.map((p: any) => Number(p.committedOffset));
        return offsets.every((offset: number) => offset === end) ? offsets : undefined;
      });

    // The first consumer alone gets every partition and reads the first round.
    const one = consume('kip848-one');
    await waitFor('the first member with all partitions', async () => {
      const group = await describe();
      return group.errorCode === 0 && group.groupState === 'Stable' && group.members.length === 1 && assignedCounts(group)[0] === PARTITIONS ? group : undefined;
    });
    await produce('first');
    await committedUpTo(PER_ROUND);

    // A second consumer joins: the first revokes half (committing first), the second gets it.
    const two = consume('kip848-two');
    const stable = await waitFor('a stable group of two', async () => {
      const group = await describe();
      if (group.errorCode !== 0 || group.groupState !== 'Stable' || group.members.length !== 2) return undefined;
      return assignedCounts(group).every((n: number) => n === PARTITIONS / 2) ? group : undefined;
    });
    t.same(stable.members.map((m: any) => m.clientId).sort(), ['kip848-one', 'kip848-two'], 'ConsumerGroupDescribe shows both clients');
    t.equal(stable.assignorName, 'uniform', 'the default server assignor');
    await produce('second');
    await committedUpTo(2 * PER_ROUND);

    const described = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--describe', '--group', GROUP]);
    t.equal(described.code, 0, 'kafka-consumer-groups --describe');
    t.comment(described.stdout.trim());
    const rows = described.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[0] === GROUP && cols[1] === TOPIC)
      .map((cols) => ({ partition: Number(cols[2]), current: cols[3], logEnd: cols[4], lag: cols[5], consumerId: cols[6], clientId: cols[8] }))
      .sort((a, b) => a.partition - b.partition);
    const end = String(2 * PER_ROUND);
    t.same(
      rows.map((row) => [row.partition, row.current, row.logEnd, row.lag]),
      [0, 1, 2, 3].map((p) => [p, end, end, '0']),
      'committed offsets at the log end, no lag',
    );
    const memberIds = new Set(stable.members.map((m: any) => m.memberId));
    t.ok(
      rows.every((row) => memberIds.has(row.consumerId)),
      'every partition shows its consumer',
    );
    t.same([...new Set(rows.map((row) => row.clientId))].sort(), ['kip848-one', 'kip848-two'], 'both clients own partitions');

    const members = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--describe', '--group', GROUP, '--members']);
    t.equal(members.code, 0, 'kafka-consumer-groups --describe --members');
    const memberRows = members.stdout
      .split('\n')
      .filter((line) => line.startsWith(GROUP))
      .map((line) => line.trim().split(/\s+/));
    t.same(
      memberRows.map((cols) => [cols[3], cols[4]]).sort(),
      [
        ['kip848-one', '2'],
        ['kip848-two', '2'],
      ],
      'two members with two partitions each',
    );

    const listed = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--list']);
    t.equal(listed.code, 0, 'kafka-consumer-groups --list');
    t.match(listed.stdout, new RegExp(`^${GROUP}$`, 'm'), 'the group is listed');

    const results = await Promise.all([one, two]);
    const outputs = results.map((result) => result.stdout.split('\n').filter((line) => /^(first|second)-p\d-\d+$/.test(line)));
    for (const [i, result] of results.entries()) {
      // --timeout-ms ends the console consumer with a TimeoutException, and exit code 0.
      t.equal(result.code, 0, `consumer ${i + 1} exits cleanly`);
      if (result.code !== 0) t.comment(result.stderr);
    }
    t.ok(
      outputs.every((lines) => lines.length > 0),
      `each consumer got records (${outputs.map((lines) => lines.length).join(' + ')})`,
    );
    t.same(outputs.flat().sort(), [...produced].sort(), 'together exactly the produced records, none twice');
    t.ok(
      outputs[1]!.every((line) => line.startsWith('second-')),
      "the second consumer starts after the first one's commits",
    );

    const after = (await call(69, 1, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0];
    t.match(after, { groupState: 'Empty', members: [] }, 'both left the group when they closed');
  });
}
