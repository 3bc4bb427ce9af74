// The coordinators' internal topics (__consumer_offsets, __transaction_state) of a cluster.
// The one-process cluster creates them once all its brokers are up; a multi-process cluster
// on etcd has its controller create them once offsets.topic.replication.factor /
// transaction.state.log.replication.factor brokers are live, as Kafka creates them only when
// that many brokers can hold them (until then FindCoordinator answers COORDINATOR_NOT_AVAILABLE).

import { OFFSETS_TOPIC } from '../group/offsets-log.js';
import { newTopicId } from '../log/log-manager.js';
import type { SpateBroker } from '../server/broker-server.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log.js';

/** Creates the internal topics that do not exist yet, each `factor(topic)` times replicated; those whose factor is above the live brokers wait. */
export async function createInternalTopics(broker: SpateBroker, factor: (topic: string) => number): Promise<void> {
  const values = broker.config.values;
  const internal = [
    [
      OFFSETS_TOPIC,
      'offsets.topic.num.partitions',
      { 'cleanup.policy': 'compact', 'segment.bytes': String(values.get('offsets.topic.segment.bytes')), 'compression.type': 'producer' },
    ],
    [TRANSACTION_STATE_TOPIC, 'transaction.state.log.num.partitions', { 'cleanup.policy': 'compact', 'segment.bytes': String(values.get('transaction.state.log.segment.bytes')) }],
  ] as const;
  const store = broker.replicas.store;
  for (const [name, key, configs] of internal) {
    const replicas = factor(name);
    if (store.topic(name) !== undefined || replicas > store.brokers().length) continue;
    const partitions = values.get(key) as number;
    // Kafka's transaction.state.log.min.isr is the topic's min.insync.replicas (here at most
    // its replication factor, so a smaller cluster's coordinator can write at all).
    const topicConfigs: Record<string, string> = { ...configs };
    if (name === TRANSACTION_STATE_TOPIC) topicConfigs['min.insync.replicas'] = String(Math.min(values.get('transaction.state.log.min.isr') as number, replicas));
    await broker.replicas.createTopic(name, partitions, replicas, undefined, topicConfigs, newTopicId());
  }
}

/** The configured replication factor of an internal topic (offsets.topic.replication.factor, transaction.state.log.replication.factor). */
export function configuredFactor(broker: SpateBroker, topic: string): number {
  return broker.config.values.get(topic === OFFSETS_TOPIC ? 'offsets.topic.replication.factor' : 'transaction.state.log.replication.factor') as number;
}

/**
 * On a broker of a multi-process cluster: whenever membership changes and this broker is
 * the controller, the missing internal topics are created. Returns the unsubscribe function.
 */
export function keepInternalTopics(broker: SpateBroker): () => void {
  const store = broker.replicas.store;
  let running = false;
  const check = () => {
    if (running || store.controllerId() !== broker.nodeId) return;
    running = true;
    createInternalTopics(broker, (topic) => configuredFactor(broker, topic))
      .catch((error: unknown) => {
        // Another broker (a controller a moment ago) may have created it first.
        if (!/already exists/.test((error as Error).message)) broker.logger.warn(`Creating the internal topics failed: ${(error as Error).message}`);
      })
      .finally(() => {
        running = false;
      });
  };
  const unwatch = store.watch((event) => {
    if (event.kind === 'brokers') check();
  });
  check();
  return unwatch;
}
