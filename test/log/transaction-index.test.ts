// Per-partition transaction bookkeeping: the last stable offset, the aborted transactions a
// read_committed fetch is told about, and trimming below the log start.

import t from 'tap';
import { TransactionIndex } from '../../src/log/transaction-index.js';
import { javaStringHash, partitionForKey } from '../../src/log/internal-topic.js';

t.test('LSO follows the oldest open transaction', async (t) => {
  const index = new TransactionIndex();
  t.equal(index.lastStableOffset(10n), 10n, 'nothing open: the high watermark');
  index.onTransactionalBatch(1n, 3n);
  index.onTransactionalBatch(2n, 5n);
  index.onTransactionalBatch(1n, 7n);
  t.equal(index.lastStableOffset(10n), 3n);
  index.onMarker(1n, 8n, true);
  t.equal(index.lastStableOffset(10n), 5n, 'producer 1 committed');
  index.onMarker(2n, 9n, false);
  t.equal(index.lastStableOffset(10n), 10n);
  t.same(index.abortedBetween(0n, 10n), [{ producerId: 2n, firstOffset: 5n, lastOffset: 9n }]);
  t.same(index.abortedBetween(10n, 20n), [], 'a fetch after the abort is not told');
  t.same(index.abortedBetween(0n, 5n), [], 'nor one that ends before it began');
  index.onMarker(3n, 11n, false);
  t.equal(index.abortedTransactions.length, 1, 'a marker without an open transaction records nothing');
  index.truncateBefore(10n);
  t.same(index.abortedTransactions, [], 'retention drops aborts wholly below the log start');
});

t.test('internal topics place keys by Java String.hashCode', async (t) => {
  t.equal(javaStringHash(''), 0);
  t.equal(javaStringHash('foo'), 101574);
  t.equal(javaStringHash('hello world'), 1794106052);
  t.equal(partitionForKey('foo', 50), 101574 % 50);
  t.ok(partitionForKey('zzzzzzzzzzzzzzzz', 50) >= 0, 'negative hashes are masked, as Kafka does');
});
