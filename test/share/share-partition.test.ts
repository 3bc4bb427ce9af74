// The share-partition state machine on its own: acquisition over gaps and transaction
// markers, batch alignment and the record-limit mode, the in-flight limit, and the persisted
// state batches.

import t from 'tap';
import { SharePartition } from '../../src/share/share-partition.js';

const limits = { lockDurationMs: 1000, deliveryCountLimit: 3, maxRecordLocks: 100 };
const batch = (baseOffset: bigint, lastOffset: bigint, isControl = false) => ({ baseOffset, lastOffset, isControl });
const fresh = () => new SharePartition('g', Buffer.alloc(16, 1), 0, 0n, 0);

t.test('offsets compacted away and transaction markers are done without being delivered', async (t) => {
  const partition = fresh();
  const ranges = partition.acquire([batch(0n, 1n), batch(5n, 6n), batch(7n, 7n, true), batch(8n, 9n)], 'm', 100, false, limits, 0);
  t.same(ranges, [
    { firstOffset: 0n, lastOffset: 1n, deliveryCount: 1 },
    { firstOffset: 5n, lastOffset: 6n, deliveryCount: 1 },
    { firstOffset: 8n, lastOffset: 9n, deliveryCount: 1 },
  ]);
  t.equal(partition.speo, 10n);
  partition.acknowledge([{ firstOffset: 0n, lastOffset: 1n, acknowledgeTypes: [1] }], limits, 0);
  t.equal(partition.spso, 5n, 'the gap 2-4 is skipped along with the accepted records');
  partition.acknowledge([{ firstOffset: 5n, lastOffset: 6n, acknowledgeTypes: [1] }], limits, 0);
  t.equal(partition.spso, 8n, 'and the marker at 7');
});

t.test('MaxRecords: whole batches by default, exact in record-limit mode; the in-flight limit', async (t) => {
  const aligned = fresh();
  t.same(aligned.acquire([batch(0n, 9n), batch(10n, 19n)], 'm', 3, false, limits, 0), [{ firstOffset: 0n, lastOffset: 9n, deliveryCount: 1 }]);
  const strict = fresh();
  t.same(strict.acquire([batch(0n, 9n)], 'm', 3, true, limits, 0), [{ firstOffset: 0n, lastOffset: 2n, deliveryCount: 1 }]);
  t.equal(strict.nextFetchOffset(), 3n);
  const capped = fresh();
  const small = { ...limits, maxRecordLocks: 5 };
  t.same(capped.acquire([batch(0n, 3n), batch(4n, 9n)], 'm', 100, false, small, 0), [{ firstOffset: 0n, lastOffset: 4n, deliveryCount: 1 }], 'stops at 5 in flight');
  t.same(capped.acquire([batch(4n, 9n)], 'other', 100, false, small, 0), [], 'nothing more until records complete');
});

t.test('lock expiry, the delivery limit, and the persisted batches', async (t) => {
  const partition = fresh();
  partition.acquire([batch(0n, 3n)], 'm', 100, false, limits, 0);
  t.equal(partition.expireLocks(999, limits), 1000, 'not yet');
  partition.expireLocks(1000, limits);
  t.equal(partition.nextFetchOffset(), 0n);
  partition.acquire([batch(0n, 3n)], 'm', 100, false, limits, 2000);
  partition.acknowledge([{ firstOffset: 1n, lastOffset: 1n, acknowledgeTypes: [1] }], limits, 2000);
  partition.expireLocks(3000, limits);
  partition.acquire([batch(0n, 3n)], 'n', 100, false, limits, 4000);
  t.equal(partition.validate('m', [{ firstOffset: 0n, lastOffset: 0n, acknowledgeTypes: [1] }], false)?.invalidRequest, false, 'm no longer holds 0');
  t.same(
    partition.stateBatches(),
    [
      { firstOffset: 0n, lastOffset: 0n, deliveryState: 0, deliveryCount: 3 },
      { firstOffset: 1n, lastOffset: 1n, deliveryState: 2, deliveryCount: 2 },
      { firstOffset: 2n, lastOffset: 3n, deliveryState: 0, deliveryCount: 3 },
    ],
    'persisted: acquired records as available with their count, the accepted one acknowledged',
  );
  partition.releaseMember('n', limits);
  t.equal(partition.spso, 4n, 'third deliveries released: archived (limit 3), so everything is done');
  t.same(partition.stateBatches(), []);
  const restored = fresh();
  restored.restore(10n, [
    { firstOffset: 10n, lastOffset: 10n, deliveryState: 2, deliveryCount: 1 },
    { firstOffset: 12n, lastOffset: 12n, deliveryState: 0, deliveryCount: 2 },
  ]);
  t.equal(restored.spso, 11n);
  t.same(restored.acquire([batch(11n, 13n)], 'm', 100, false, limits, 0), [
    { firstOffset: 11n, lastOffset: 11n, deliveryCount: 1 },
    { firstOffset: 12n, lastOffset: 12n, deliveryCount: 3 },
    { firstOffset: 13n, lastOffset: 13n, deliveryCount: 1 },
  ]);
});

t.test('a record persisted at the delivery limit (handed out when its leader went away) is archived, not delivered again', async (t) => {
  const partition = fresh();
  partition.restore(0n, [
    { firstOffset: 0n, lastOffset: 0n, deliveryState: 0, deliveryCount: 3 },
    { firstOffset: 1n, lastOffset: 1n, deliveryState: 0, deliveryCount: 2 },
  ]);
  t.same(partition.acquire([batch(0n, 2n)], 'm', 100, false, limits, 0), [
    { firstOffset: 1n, lastOffset: 1n, deliveryCount: 3 },
    { firstOffset: 2n, lastOffset: 2n, deliveryCount: 1 },
  ]);
  t.equal(partition.spso, 1n, 'offset 0 (3 deliveries, the limit) is archived');
});
