// Topic creation for every workload, the same way on both brokers: kafkajs's admin client
// (CreateTopics, then Metadata until every partition has a leader).

import { Kafka, logLevel } from 'kafkajs';

export async function createTopic(bootstrap, topic, partitions) {
  const kafka = new Kafka({ clientId: 'spate-bench-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const started = performance.now();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true, timeout: 60_000 });
    return performance.now() - started;
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a workload's topic once it is measured: the ceilings write tens of GiB, which the next workloads need as free disk. */
export async function deleteTopic(bootstrap, topic) {
  const kafka = new Kafka({ clientId: 'spate-bench-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic], timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
}
