// Idempotent producer state: the sequence rules of Kafka's ProducerStateManager.

import t from 'tap';
import { ProducerStateManager } from '../../src/log/producer-state.js';
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
