import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster } from '../src/index.js';
import { partitionForKey } from '../src/log/internal-topic.js';
import { decodeRecordBatches } from '../src/protocol/record-batch.js';
import { kcatConsume, kcatProduce } from './helpers/kcat.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cluster = await startCluster({ brokers: 3, logLevel: (process.env.LOG_LEVEL as 'info') ?? 'warn', config: { 'group.initial.rebalance.delay.ms': 0 } });
const key = (prefix: string, topic: string, node: number) => { for (let i = 0; i < 1000; i++) if (cluster.leaderOf(topic, partitionForKey(`${prefix}-${i}`, 50)) === node) return `${prefix}-${i}`; throw new Error('x'); };
const victim = 2;
const groupId = key('transformers', '__consumer_offsets', victim);
const transactionalId = key('eos', '__transaction_state', victim);
const kafka = new Kafka({ clientId: 'dbg', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin(); await admin.connect();
await admin.createTopics({ topics: [{ topic: 'input', numPartitions: 2, replicationFactor: 3 }, { topic: 'output', numPartitions: 2, replicationFactor: 3 }] });
let transformer: ChildProcess; let finished = false;
const sup = () => { transformer = spawn(process.execPath, ['test/fixtures/transform.mjs', cluster.bootstrap, transactionalId, groupId, '4'], { stdio: ['ignore', 'ignore', 'pipe'] }); transformer.stderr!.on('data', (c: Buffer) => console.log(new Date().toISOString(), 'T:', c.toString().trim())); transformer.once('exit', () => { console.log(new Date().toISOString(), 'transformer exited'); if (!finished) sup(); }); };
sup();
const inputs = Array.from({ length: 4000 }, (_, i) => `value-${i}`);
let stopping: Promise<void> | undefined;
for (let i = 0; i < inputs.length; i += 100) {
  await kcatProduce(cluster.bootstrap, 'input', inputs.slice(i, i + 100).map((v) => `${v}:${v}`), ['-K', ':']);
  if (i === 1500) { console.log(new Date().toISOString(), '--- stop'); stopping = cluster.stopBroker(victim); }
  if (i === 3000) { await stopping; console.log(new Date().toISOString(), '--- start'); await cluster.startBroker(victim); }
  await sleep(20);
}
for (let i = 0; i < 100 && (await kcatConsume(cluster.bootstrap, 'output', ['-X', 'isolation.level=read_committed'])).length < 4000; i++) await sleep(200);
const output = await kcatConsume(cluster.bootstrap, 'output', ['-X', 'isolation.level=read_committed']);
const counts = new Map<string, number[]>();
for (const r of output) { const l = counts.get(r.value!) ?? []; l.push(r.partition * 100000 + r.offset); counts.set(r.value!, l); }
const dupes = [...counts].filter(([, l]) => l.length > 1);
console.log('output', output.length, 'unique', counts.size, 'dupes', dupes.length, JSON.stringify(dupes.slice(0, 5)));
const leader = cluster.broker(cluster.leaderOf('output', 0));
for (const p of [0, 1]) {
  const log = cluster.broker(cluster.leaderOf('output', p)).replicas.partition('output', p)!.log;
  let offset = log.logStartOffset; const lines: string[] = [];
  while (offset < log.logEndOffset) { const recs = await log.read(offset, 1 << 20, true); if (!recs) break; for (const b of decodeRecordBatches(recs.buffer)) { lines.push(`${b.baseOffset}-${b.baseOffset + BigInt(b.lastOffsetDelta)} pid=${b.producerId} ep=${b.producerEpoch} ${b.isControl ? 'CONTROL ' + (b.records[0]!.key!.readInt16BE(2) === 1 ? 'COMMIT' : 'ABORT') : 'n=' + b.records.length + ' ' + b.records[0]?.value?.toString() + '..' + b.records[b.records.length - 1]?.value?.toString()}`); offset = b.baseOffset + BigInt(b.lastOffsetDelta) + 1n; } recs.release(); }
  console.log(`output-${p}:\n` + lines.join('\n'));
}
void leader;
finished = true; transformer!.kill('SIGKILL'); await admin.disconnect(); await cluster.stop();
