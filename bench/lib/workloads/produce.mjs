// Produce throughput: one topic of 8 partitions per case, records of 100 B and 1 KiB, acks=1
// and acks=all, no rate limit, batches up to 1 MiB. Kafka's ProducerPerformance
// (kafka-producer-perf-test) drives it, as the Kafka docs and the OpenMessaging Benchmark
// measure a broker, and kafkajs beside it.

import { join } from 'node:path';
import { createTopic } from '../admin.mjs';
import { runProcess, resultLine, intervalSeries, failureReason } from '../run-process.mjs';
import { TOOL, parseProducerPerformance } from '../java-tools.mjs';
import { measure } from './measure.mjs';

export const PRODUCE_CASES = [
  { key: '1k-acks1', size: 1024, acks: '1', label: 'Produce 1 KiB records, acks=1' },
  { key: '1k-acksall', size: 1024, acks: 'all', label: 'Produce 1 KiB records, acks=all' },
  { key: '100b-acks1', size: 100, acks: '1', label: 'Produce 100 B records, acks=1' },
  { key: '100b-acksall', size: 100, acks: 'all', label: 'Produce 100 B records, acks=all' },
];

// The producer settings both brokers get: batches up to 1 MiB (OMB's batchSizeBytes), the
// Java client's default linger of 5 ms (Kafka 4.0+), no compression.
export const JAVA_PRODUCER_PROPS = ['batch.size=1048576', 'linger.ms=5', 'compression.type=none', 'buffer.memory=67108864'];

export function javaTopic(c) {
  return `produce-${c.key}`;
}

export async function produceJava(ctx, c, records, maxSeconds) {
  const topic = javaTopic(c);
  await createTopic(ctx.broker.bootstrap, topic, 8);
  return measure(ctx, { id: `produce/${c.key}/java`, group: 'produce', name: c.label, client: 'Java ProducerPerformance' }, async () => {
    const run = await ctx.tools.run(
      TOOL.producerPerformance,
      [
        '--bootstrap-server',
        ctx.broker.bootstrap,
        '--topic',
        topic,
        '--num-records',
        String(records),
        '--record-size',
        String(c.size),
        '--throughput',
        '-1',
        '--reporting-interval',
        '1000',
        '--command-property',
        `acks=${c.acks}`,
        ...JAVA_PRODUCER_PROPS,
      ],
      { timeoutMs: maxSeconds * 1000 },
    );
    const { summary, series } = parseProducerPerformance(run.lines);
    if (!summary) return { error: failureReason(run) };
    const bytes = summary.records * c.size;
    return {
      clientCpuSeconds: run.cpuSeconds,
      metrics: summary,
      bytes,
      series,
      note: run.timedOut ? `stopped at the ${maxSeconds} s limit; figures from the interval reports` : undefined,
      error: run.code !== 0 && !run.timedOut ? failureReason(run) : undefined,
    };
  });
}

export async function produceKafkajs(ctx, c, records, maxSeconds) {
  const topic = `kafkajs-${javaTopic(c)}`;
  await createTopic(ctx.broker.bootstrap, topic, 8);
  return measure(ctx, { id: `produce/${c.key}/kafkajs`, group: 'produce', name: c.label, client: 'kafkajs 2.2.4' }, async () => {
    const run = await runProcess(
      process.execPath,
      [
        join(ctx.root, 'bench', 'clients', 'kafkajs-produce.mjs'),
        '--bootstrap',
        ctx.broker.bootstrap,
        '--topic',
        topic,
        '--records',
        String(records),
        '--size',
        String(c.size),
        `--acks=${c.acks === 'all' ? '-1' : c.acks}`,
        '--max-seconds',
        String(maxSeconds),
      ],
      { cwd: ctx.root, timeoutMs: (maxSeconds + 30) * 1000 },
    );
    const result = resultLine(run.lines);
    if (!result) return { error: failureReason(run) };
    return { clientCpuSeconds: run.cpuSeconds, metrics: result, bytes: result.bytes, series: intervalSeries(run.lines), error: result.errors > 0 ? result.error : undefined };
  });
}
