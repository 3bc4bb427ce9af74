// File descriptors (issue 13): a broker whose open file limit is 600 takes topics while one
// descriptor per partition (its active segment's .log) fits beside the reserve, and refuses
// up front what does not fit: CreateTopics with POLICY_VIOLATION, CreatePartitions with
// INVALID_PARTITIONS, each with a message, nothing left on disk, the broker serving on.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { startProcessBroker } from '../helpers/process-broker.js';

const LIMIT = 600;

interface CreateError {
  readonly type?: string;
  readonly message: string;
  readonly errors?: ReadonlyArray<{ type?: string; message: string }>;
}

t.test('a CreateTopics or CreatePartitions that cannot fit is refused up front; what fits is created', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-fds-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const broker = await startProcessBroker(dataDir, [], { fileLimit: LIMIT });
  t.teardown(() => void broker.child.kill('SIGKILL'));
  const admin = new Kafka({ clientId: 'fds', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  // 100-partition topics until one is refused: each partition costs one descriptor.
  let created = 0;
  let refusal: CreateError | undefined;
  for (let i = 0; i < 10 && refusal === undefined; i++) {
    try {
      await admin.createTopics({ topics: [{ topic: `fits-${i}`, numPartitions: 100 }] });
      created++;
    } catch (error) {
      refusal = error as CreateError;
    }
  }
  t.ok(created >= 2, `${created} topics of 100 partitions fit under a limit of ${LIMIT} descriptors`);
  const refused = refusal?.errors?.[0] ?? refusal;
  t.equal(refused?.type, 'POLICY_VIOLATION', 'the next one is refused with POLICY_VIOLATION');
  const refusedName = `fits-${created}`;
  // kafkajs shows a generic text; the broker's errorMessage says why and what to do.
  const raw = await RawClient.connect(broker.bootstrap);
  t.teardown(() => raw.close());
  const createAnswer = await raw.request(19, 5, {
    topics: [{ name: refusedName, numPartitions: 100, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.match(createAnswer.body.topics[0], {
    errorCode: 44,
    errorMessage:
      /needs 100 file descriptors \(one per partition\), but only \d+ of the limit 600 are free .*Raise the broker's open file limit \(ulimit -n\) or create fewer partitions/,
  });
  t.notOk(existsSync(join(dataDir, `${refusedName}-0`)), 'no directory of the refused topic');
  t.notOk(readFileSync(join(dataDir, 'topics.json'), 'utf8').includes(refusedName), 'not in topics.json');

  const before = readdirSync(dataDir).filter((name) => name.startsWith('fits-0-')).length;
  const grown = await admin.createPartitions({ topicPartitions: [{ topic: 'fits-0', count: 5000 }] }).then(
    () => undefined,
    (error: { type?: string }) => error.type,
  );
  t.equal(grown, 'INVALID_PARTITIONS', 'CreatePartitions beyond the limit: INVALID_PARTITIONS');
  const partitionsAnswer = await raw.request(37, 1, { topics: [{ name: 'fits-0', count: 5000, assignments: null }], timeoutMs: 1000, validateOnly: false });
  t.match(partitionsAnswer.body.results[0], { errorCode: 37, errorMessage: /Creating 4900 partition\(s\) needs 4900 file descriptors/ });
  t.equal(readdirSync(dataDir).filter((name) => name.startsWith('fits-0-')).length, before, 'CreatePartitions left nothing on disk either');

  const descriptors = readdirSync(`/proc/${broker.child.pid}/fd`).length;
  t.ok(descriptors < LIMIT, `${descriptors} descriptors open, under the limit`);
  // The broker serves on: new connections, produce and fetch.
  await kcatProduce(broker.bootstrap, 'fits-0', ['after the refusal'], ['-p', '7']);
  const records = await kcatConsume(broker.bootstrap, 'fits-0', ['-p', '7']);
  t.same(
    records.map((record) => record.value),
    ['after the refusal'],
    'produce and fetch still work',
  );
  t.same(broker.output().match(/EMFILE|Too many open files/g), null, 'never out of descriptors');
});
