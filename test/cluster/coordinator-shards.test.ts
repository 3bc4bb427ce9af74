// CoordinatorShards on its own, over a stand-in for the replica layer's leadership
// announcements: the error each state answers, a load cut short by a resignation, a new
// leader epoch reloading the shard, and the single node whose shards are always served.

import t from 'tap';
import { CoordinatorShards, type ShardHost } from '../../src/cluster/coordinator-shards.js';
import { type LeadershipListener, type ReplicaManager } from '../../src/cluster/replica-manager.js';
import { createLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';

function replicaLayer(clustered: boolean, topicExists = true) {
  let listener: LeadershipListener | undefined;
  const fake = {
    clustered,
    store: { topic: () => (topicExists ? { name: '__consumer_offsets' } : undefined) },
    onLeadership(_topic: string, next: LeadershipListener) {
      listener = next;
      return () => (listener = undefined);
    },
  };
  return {
    replicas: fake as unknown as ReplicaManager,
    announce: (index: number, epoch: number | undefined) => listener?.(index, epoch),
    subscribed: () => listener !== undefined,
  };
}

function host() {
  const events: string[] = [];
  const gates = new Map<number, () => void>();
  const host: ShardHost = {
    async loadShard(index, epoch, current) {
      events.push(`load ${index}@${epoch}`);
      await new Promise<void>((resolve) => gates.set(index, resolve));
      events.push(`loaded ${index} current=${current()}`);
    },
    shardLoaded: (index) => events.push(`serving ${index}`),
    unloadShard: (index) => events.push(`unload ${index}`),
  };
  return { host, events, release: (index: number) => gates.get(index)?.() };
}

const logger = createLogger('error');

t.test('loading, serving, resigning: the error each state answers', async (t) => {
  const { replicas, announce } = replicaLayer(true);
  const { host: shardHost, events, release } = host();
  const shards = new CoordinatorShards('__consumer_offsets', replicas, shardHost, logger, 'test');
  shards.start();
  t.equal(shards.error(3), ErrorCode.NOT_COORDINATOR, 'a partition led elsewhere');
  announce(3, 5);
  t.equal(shards.error(3), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'while its records are replayed');
  t.ok(shards.loading);
  t.equal(shards.epoch(3), 5, 'the coordinator epoch is the leader epoch');
  release(3);
  await shards.settled();
  t.equal(shards.error(3), ErrorCode.NONE, 'then served');
  t.notOk(shards.loading);
  t.ok(shards.isActive(3));
  announce(3, undefined);
  t.equal(shards.error(3), ErrorCode.NOT_COORDINATOR, 'resigned');
  t.same(events, ['load 3@5', 'loaded 3 current=true', 'serving 3', 'unload 3']);
});

t.test('a resignation during the load: the shard is dropped and never served', async (t) => {
  const { replicas, announce } = replicaLayer(true);
  const { host: shardHost, events, release } = host();
  const shards = new CoordinatorShards('__consumer_offsets', replicas, shardHost, logger, 'test');
  shards.start();
  announce(1, 2);
  announce(1, undefined);
  release(1);
  await shards.settled();
  t.equal(shards.error(1), ErrorCode.NOT_COORDINATOR);
  t.same(events, ['load 1@2', 'unload 1', 'loaded 1 current=false'], 'the loader learns it is no longer current; nothing serves');
});

t.test('a new leader epoch reloads the shard; a failed load leaves it unserved', async (t) => {
  const { replicas, announce } = replicaLayer(true);
  const { host: shardHost, events, release } = host();
  const shards = new CoordinatorShards('__consumer_offsets', replicas, shardHost, logger, 'test');
  shards.start();
  announce(0, 1);
  release(0);
  await shards.settled();
  announce(0, 4);
  t.equal(shards.error(0), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  release(0);
  await shards.settled();
  t.equal(shards.epoch(0), 4);
  t.same(events, ['load 0@1', 'loaded 0 current=true', 'serving 0', 'unload 0', 'load 0@4', 'loaded 0 current=true', 'serving 0']);

  const failing = new CoordinatorShards(
    '__consumer_offsets',
    replicas,
    {
      loadShard: () => Promise.reject(new Error('unreadable')),
      unloadShard: (index) => events.push(`failed unload ${index}`),
    },
    logger,
    'test',
  );
  failing.start();
  announce(7, 1);
  await failing.settled();
  t.equal(failing.error(7), ErrorCode.NOT_COORDINATOR, 'a shard that failed to load is not served');
  t.ok(events.includes('failed unload 7'), 'and what it loaded is dropped');
  failing.stop();
  shards.stop();
  t.equal(shards.error(0), ErrorCode.NOT_COORDINATOR, 'stop resigns every shard');
});

t.test('before the internal topic exists: COORDINATOR_NOT_AVAILABLE; a single node serves everything', async (t) => {
  const none = replicaLayer(true, false);
  const shards = new CoordinatorShards('__consumer_offsets', none.replicas, host().host, logger, 'test');
  shards.start();
  t.equal(shards.error(0), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const single = replicaLayer(false);
  const local = new CoordinatorShards('__consumer_offsets', single.replicas, host().host, logger, 'test');
  local.start();
  t.notOk(single.subscribed(), 'a single node does not follow leadership');
  t.equal(local.error(12), ErrorCode.NONE);
  t.equal(local.epoch(12), 0);
});
