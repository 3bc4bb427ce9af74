// Kafka's leader-epoch cache semantics (LeaderEpochFileCache.endOffsetFor), its checkpoint
// file, and replica placement.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaderEpochCache, LEADER_EPOCH_CHECKPOINT } from '../../src/cluster/leader-epoch-cache.js';
import { checkAssignment, placeReplicas } from '../../src/cluster/placement.js';
import { ErrorCode } from '../../src/protocol/errors.js';

t.test('endOffsetFor, truncation and the checkpoint file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-epochs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = new LeaderEpochCache(dir, true);
  cache.assign(0, 0n);
  cache.assign(2, 10n);
  cache.assign(1, 5n); // older than the latest: ignored, as Kafka does
  cache.assign(5, 20n);
  t.same(cache.endOffsetFor(5, 30n), { epoch: 5, endOffset: 30n }, 'the latest epoch ends at the log end');
  t.same(cache.endOffsetFor(2, 30n), { epoch: 2, endOffset: 20n }, 'an older epoch ends where the next begins');
  t.same(cache.endOffsetFor(3, 30n), { epoch: 2, endOffset: 20n }, 'an epoch this log never had: the floor epoch, ending where the next begins');
  t.same(cache.endOffsetFor(6, 30n), { epoch: -1, endOffset: -1n }, 'a newer epoch is undefined');
  t.same(cache.endOffsetFor(-1, 30n), { epoch: -1, endOffset: -1n });
  t.equal(readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8'), '0\n3\n0 0\n2 10\n5 20\n', "Kafka's checkpoint format");
  cache.truncateFromEnd(15n);
  t.equal(cache.latestEpoch, 2);
  const reopened = new LeaderEpochCache(dir, true);
  t.equal(reopened.latestEpoch, 2, 'the truncation is durable');
  t.same(reopened.endOffsetFor(0, 15n), { epoch: 0, endOffset: 10n });
});

t.test('placement spreads leaders and checks explicit assignments', async (t) => {
  const placed = placeReplicas('orders', 0, 3, 3, [2, 0, 1]);
  t.same(new Set(placed.map((replicas) => replicas[0])).size, 3, 'each broker leads one partition');
  for (const replicas of placed) t.equal(new Set(replicas).size, 3, 'no broker twice');
  t.throws(() => placeReplicas('orders', 0, 1, 4, [0, 1, 2]), { message: /[\s\S]*/, kafkaCode: ErrorCode.INVALID_REPLICATION_FACTOR });
  t.throws(() => checkAssignment([[0, 9]], [0, 1, 2]), { kafkaCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: /broker 9, but no such broker/ });
  t.throws(() => checkAssignment([[0, 0]], [0, 1, 2]), { kafkaCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: /more than once/ });
  t.throws(() => checkAssignment([[0, 1], [2]], [0, 1, 2]), { kafkaCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: /same number of replicas/ });
  t.doesNotThrow(() =>
    checkAssignment(
      [
        [0, 1],
        [2, 0],
      ],
      [0, 1, 2],
    ),
  );
});
