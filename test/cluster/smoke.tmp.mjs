import { startCluster } from '/work/wt/cluster/dist/index.js';
import kafkajs from 'kafkajs';
const cluster = await startCluster({ brokers: 3, logLevel: 'info' });
console.log('bootstrap', cluster.bootstrap);
const kafka = new kafkajs.Kafka({ brokers: cluster.bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin(); await admin.connect();
await admin.createTopics({ topics: [{ topic: 't', numPartitions: 1, replicationFactor: 3 }] });
console.log(JSON.stringify(await admin.fetchTopicMetadata({ topics: ['t'] })));
const producer = kafka.producer({ idempotent: true }); await producer.connect();
for (let i = 0; i < 5; i++) console.log(JSON.stringify(await producer.send({ topic: 't', acks: -1, messages: [{ value: 'v' + i }] })));
for (const b of cluster.brokers) { const p = b.replicas.partition('t', 0); console.log(b.nodeId, p.isLeader, p.log.logEndOffset, p.highWatermark, p.state.isr); }
const leader = cluster.leaderOf('t', 0);
await cluster.stopBroker(leader);
console.log('stopped', leader, 'new leader', cluster.leaderOf('t', 0), cluster.store.partitionState('t', 0));
for (let i = 5; i < 10; i++) console.log(JSON.stringify(await producer.send({ topic: 't', acks: -1, messages: [{ value: 'v' + i }] })));
await cluster.startBroker(leader);
await new Promise(r => setTimeout(r, 1500));
for (const b of cluster.brokers) { const p = b.replicas.partition('t', 0); console.log(b.nodeId, p.isLeader, p.log.logEndOffset, p.highWatermark, p.state.isr); }
await producer.disconnect(); await admin.disconnect();
await cluster.stop();
