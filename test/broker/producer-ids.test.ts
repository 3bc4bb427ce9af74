// Producer-ID blocks: from the local file on a single node, from the metadata store in a
// cluster. A store that answers with a promise (etcd) is asked ahead of need; when the IDs run
// out before its answer, InitProducerId gets the retriable COORDINATOR_LOAD_IN_PROGRESS.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProducerIdManager } from '../../src/broker/producer-ids.js';
import { ErrorCode } from '../../src/protocol/errors.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-pid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a synchronous store hands out a block when the current one runs out', async (t) => {
  const dir = tempDir(t);
  const asked: bigint[] = [];
  let next = 5000n;
  const ids = new ProducerIdManager(dir, undefined, (count) => {
    asked.push(count);
    const first = next;
    next += count;
    return first;
  });
  t.equal(ids.nextId(), 5000n);
  t.equal(ids.nextId(), 5001n);
  t.same(asked, [1000n], 'one block so far');
  t.equal(readFileSync(join(dir, 'producer-id-block'), 'utf8'), '6000\n', 'the block end is kept on disk');
});

t.test('an asynchronous store is asked ahead; running dry answers COORDINATOR_LOAD_IN_PROGRESS', async (t) => {
  const dir = tempDir(t);
  let next = 0n;
  let calls = 0;
  const pending: Array<() => void> = [];
  const ids = new ProducerIdManager(dir, undefined, (count) => {
    calls++;
    const first = next;
    next += count;
    return new Promise<bigint>((resolve) => pending.push(() => resolve(first)));
  });
  t.throws(() => ids.nextId(), { message: /reserved/, kafkaCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS }, 'no block yet: retriable');
  t.equal(calls, 1, 'the block was asked for');
  t.throws(() => ids.nextId(), { message: /reserved/, kafkaCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS }, 'still on its way: not asked twice');
  t.equal(calls, 1);
  pending.shift()!();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(ids.nextId(), 0n, 'the block arrived');
  for (let i = 1; i < 500; i++) ids.nextId();
  t.equal(calls, 1, 'half of the block is still left');
  t.equal(ids.nextId(), 500n);
  t.equal(calls, 2, 'with half of the block used, the next one is asked for');
  pending.shift()!();
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 501; i < 1000; i++) ids.nextId();
  t.equal(ids.nextId(), 1000n, 'the next block follows without a pause');
});

t.test('reserveAhead asks an asynchronous store at start', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  let fail = true;
  const ids = new ProducerIdManager(dir, { warn: (message) => warnings.push(message) }, async () => {
    if (fail) throw new Error('etcd unreachable');
    return 7000n;
  });
  ids.reserveAhead();
  await new Promise((resolve) => setImmediate(resolve));
  t.match(warnings, [/Reserving producer IDs failed: etcd unreachable/], 'a failed reservation is logged');
  fail = false;
  ids.reserveAhead();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(ids.nextId(), 7000n, 'the reserved block is used by the first InitProducerId');
});
