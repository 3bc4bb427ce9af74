// Consume throughput: reads what the produce workloads wrote, from the beginning of every
// partition. The Java client runs twice: Kafka's ConsumerPerformance (kafka-consumer-perf-
// test), which always joins a consumer group, and the bench's assign-mode consumer with the
// same settings and no group, the figure compared across brokers while one of them has no
// group coordinator. kafkajs likewise: its public consumer (group) and an assign-mode read
// through its own Fetch and decoder.

import { join } from 'node:path';
import { runProcess, resultLine, intervalSeries, failureReason } from '../run-process.mjs';
import { TOOL, parseConsumerPerformance } from '../java-tools.mjs';
import { measure } from './measure.mjs';

export async function consumeJavaAssigned(ctx, c, topic, records, maxSeconds) {
  const name = c.key === 'warmup' ? 'Warm-up (not reported)' : `Consume ${c.sizeLabel} records from the start`;
  return measure(ctx, { id: `consume/${c.key}/java-assign`, group: 'consume', name, client: 'Java KafkaConsumer, assign (SpateBench)' }, async () => {
    const run = await ctx.tools.run(
      TOOL.spateBench,
      ['consume', '--bootstrap', ctx.broker.bootstrap, '--topic', topic, '--records', String(records), '--max-seconds', String(maxSeconds)],
      { timeoutMs: (maxSeconds + 60) * 1000 },
    );
    const result = resultLine(run.lines);
    if (!result) return { error: failureReason(run) };
    return {
      clientCpuSeconds: run.cpuSeconds,
      metrics: result,
      bytes: result.bytes,
      series: intervalSeries(run.lines),
      error: result.records < records ? `read ${result.records} of ${records} records (stopped: ${result.stopped})` : undefined,
    };
  });
}

export async function consumeJavaGroup(ctx, c, topic, records, maxSeconds) {
  return measure(
    ctx,
    { id: `consume/${c.key}/java-group`, group: 'consume', name: `Consume ${c.sizeLabel} records from the start`, client: 'Java ConsumerPerformance (group)' },
    async () => {
      const run = await ctx.tools.run(
        TOOL.consumerPerformance,
        ['--bootstrap-server', ctx.broker.bootstrap, '--topic', topic, '--num-records', String(records), '--timeout', '10000', '--group', `spate-bench-${Date.now()}`],
        { timeoutMs: maxSeconds * 1000 },
      );
      const figures = parseConsumerPerformance(run.lines);
      if (!figures || figures.records === 0) return { error: failureReason(run, 'consumed nothing') };
      // fetch.MB.sec leaves out the group join, like the assign-mode figure beside it.
      return {
        clientCpuSeconds: run.cpuSeconds,
        metrics: { ...figures, mbPerSecWithJoin: figures.mbPerSec, mbPerSec: figures.fetchMbPerSec, recordsPerSec: figures.fetchRecordsPerSec },
        bytes: figures.mb * 1024 * 1024,
        error: figures.records < records ? `read ${figures.records} of ${records} records` : undefined,
      };
    },
  );
}

export async function consumeKafkajs(ctx, c, topic, records, maxSeconds, mode) {
  const client = mode === 'group' ? 'kafkajs 2.2.4 consumer (group)' : 'kafkajs 2.2.4, assign (its Fetch + decoder)';
  return measure(ctx, { id: `consume/${c.key}/kafkajs-${mode}`, group: 'consume', name: `Consume ${c.sizeLabel} records from the start`, client }, async () => {
    const run = await runProcess(
      process.execPath,
      [
        join(ctx.root, 'bench', 'clients', 'kafkajs-consume.mjs'),
        '--bootstrap',
        ctx.broker.bootstrap,
        '--topic',
        topic,
        '--records',
        String(records),
        '--mode',
        mode,
        '--max-seconds',
        String(maxSeconds),
      ],
      { cwd: ctx.root, timeoutMs: (maxSeconds + 30) * 1000 },
    );
    const result = resultLine(run.lines);
    if (!result) return { error: failureReason(run) };
    if (result.records === 0) return { error: result.error ?? `consumed nothing (stopped: ${result.stopped})` };
    return {
      clientCpuSeconds: run.cpuSeconds,
      metrics: result,
      bytes: result.bytes,
      series: intervalSeries(run.lines),
      error: result.records < records ? `read ${result.records} of ${records} records (stopped: ${result.stopped}${result.error ? `: ${result.error}` : ''})` : undefined,
    };
  });
}
