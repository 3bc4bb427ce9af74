// Idempotent producer state: the sequence rules of Kafka's ProducerStateManager.

import t from 'tap';
import { ProducerStateManager, recordsFingerprint } from '../../src/log/producer-state.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';

const batch = (baseSequence: number, recordCount = 1, producerEpoch = 0) => ({ producerId: 7n, producerEpoch, baseSequence, recordCount });

t.test('sequence checks', async (t) => {
  const state = new ProducerStateManager();
  t.same(state.check(batch(17)), { kind: 'append' }, 'an unknown producer may start anywhere');
  state.update(batch(0, 3), 0n, 2n, 0);
  t.same(state.check(batch(3)), { kind: 'append' });
  t.same(state.check(batch(0, 3)), { kind: 'duplicate', firstOffset: 0n, lastOffset: 2n });
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return 0;
    } catch (error) {
      return (error as KafkaError).kafkaCode;
    }
  };
  t.equal(
    codeOf(() => state.check(batch(4))),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  t.equal(
    codeOf(() => state.check(batch(0, 1, 1))),
    0,
    'new epoch at 0',
  );
  t.equal(
    codeOf(() => state.check(batch(5, 1, 1))),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    'new epoch not at 0',
  );
  state.update(batch(0, 1, 1), 3n, 3n, 0);
  t.equal(
    codeOf(() => state.check(batch(1, 1, 0))),
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
});

t.test('only the last five batches are remembered, and sequences wrap', async (t) => {
  const state = new ProducerStateManager();
  for (let i = 0; i < 7; i++) state.update(batch(i), BigInt(i), BigInt(i), 0);
  t.same(state.check(batch(6)), { kind: 'duplicate', firstOffset: 6n, lastOffset: 6n });
  t.same(state.check(batch(2)), { kind: 'duplicate', firstOffset: 2n, lastOffset: 2n });
  t.throws(() => state.check(batch(1)), KafkaError, 'older than the cache is out of order');
  const wrapping = new ProducerStateManager();
  wrapping.update(batch(2147483646, 2), 0n, 1n, 0);
  t.same(wrapping.check(batch(0)), { kind: 'append' }, 'after Int32.MAX comes 0');
  wrapping.expire(10_000, 5_000);
  t.equal(wrapping.producerCount, 0, 'idle producers expire');
});

t.test('a batch that reuses written sequences with other records is written, not acknowledged unwritten (kafkajs after a failover)', async (t) => {
  const state = new ProducerStateManager();
  const records = (value: string) => {
    const buffer = Buffer.alloc(61 + 200);
    buffer.write(value.repeat(20), 61);
    return buffer;
  };
  const fingerprint = (value: string) => recordsFingerprint(records(value), 0, 261);
  const sent = (baseSequence: number, value: string, count = 5) => ({ ...batch(baseSequence, count), fingerprint: fingerprint(value) });
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return 0;
    } catch (error) {
      return (error as KafkaError).kafkaCode;
    }
  };
  state.update(sent(0, 'A'), 0n, 4n, 0);
  // B was written at 5-9, but kafkajs saw its produce fail and rolled its sequence back to 5.
  state.update(sent(5, 'B'), 5n, 9n, 0);
  t.same(state.check(sent(5, 'B')), { kind: 'duplicate', firstOffset: 5n, lastOffset: 9n }, 'a retry with the same records is the duplicate');
  t.same(state.check(batch(5, 5)), { kind: 'duplicate', firstOffset: 5n, lastOffset: 9n }, 'without a fingerprint the sequences decide, as in Kafka');
  t.same(state.check(sent(5, 'C')), { kind: 'append' }, "other records under B's sequences are new records: written, not acknowledged as B");
  t.same(state.check(sent(6, 'C', 3)), { kind: 'append' }, 'also when they overlap B without matching its range');
  t.equal(
    codeOf(() => state.check(sent(5, 'A'))),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    "A's records under B's sequences: already written, refused",
  );
  state.update(sent(5, 'C'), 10n, 14n, 0);
  t.equal(
    codeOf(() => state.check(sent(10, 'B'))),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    "B's records again, at the next sequence: B was superseded by C, so refused, not written twice",
  );
  t.same(state.check(sent(10, 'D')), { kind: 'append' }, 'the next records append');
  const later = new ProducerStateManager();
  later.update(sent(0, 'A'), 0n, 4n, 0);
  later.update(sent(0, 'C'), 5n, 9n, 0);
  for (let i = 1; i <= 6; i++) later.update(sent(i * 5, `N${i}`), BigInt(5 + i * 5), BigInt(9 + i * 5), 0);
  t.equal(
    codeOf(() => later.check(sent(35, 'A'))),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    'a superseded batch is remembered beyond the five recent ones',
  );
  t.same(state.check(sent(10, 'A')), { kind: 'append' }, 'records of a batch that was never superseded append (a producer may send the same records twice)');
  t.not(fingerprint('A'), fingerprint('B'));
  t.equal(recordsFingerprint(records('A'), 0, 61), 0, 'a batch without records');
  t.equal(recordsFingerprint(Buffer.alloc(61 + 1000, 1), 0, 1061), recordsFingerprint(Buffer.alloc(61 + 1000, 1), 0, 1061), 'long batches: head and tail');
});
