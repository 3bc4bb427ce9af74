import t from 'tap';
import { ErrorCode, KafkaError, errorName, isKnownErrorCode } from '../../src/protocol/errors.js';

t.test('error codes', async (t) => {
  t.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  t.equal(ErrorCode.NONE, 0);
  t.equal(ErrorCode.CORRUPT_MESSAGE, 2);
  t.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  t.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  t.equal(ErrorCode.INVALID_REQUEST, 42);
  t.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 45);
  t.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
  t.equal(ErrorCode.TRANSACTION_ABORTABLE, 120);
  t.equal(ErrorCode.SHARE_SESSION_LIMIT_REACHED, 133);
  const codes = Object.values(ErrorCode);
  t.equal(new Set(codes).size, codes.length, 'no code used twice');
  t.same(
    [...codes].sort((a, b) => a - b),
    Array.from({ length: 135 }, (_, i) => i - 1),
    'every code from -1 to 133',
  );
  t.equal(errorName(35), 'UNSUPPORTED_VERSION');
  t.equal(errorName(-1), 'UNKNOWN_SERVER_ERROR');
  t.equal(errorName(9999), 'UNKNOWN_ERROR_CODE(9999)');
  t.equal(isKnownErrorCode(133), true);
  t.equal(isKnownErrorCode(134), false);
});

t.test('KafkaError', async (t) => {
  const error = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not the leader of t-0');
  t.ok(error instanceof Error);
  t.equal(error.kafkaCode, 6);
  t.equal(error.code, 'ERR_KAFKA_NOT_LEADER_OR_FOLLOWER');
  t.equal(error.message, 'not the leader of t-0');
  t.equal(new KafkaError(2, 'x', 'ERR_CRC').code, 'ERR_CRC');
});
