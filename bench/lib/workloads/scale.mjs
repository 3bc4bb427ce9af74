// Scale: many partitions (one topic of 1,000, created and then written across with
// ProducerPerformance) and many connections (1,000 clients connected at once, each
// producing one record a second).

import { join } from 'node:path';
import { createTopic } from '../admin.mjs';
import { runProcess, resultLine, intervalSeries, failureReason } from '../run-process.mjs';
import { TOOL, parseProducerPerformance } from '../java-tools.mjs';
import { JAVA_PRODUCER_PROPS } from './produce.mjs';
import { measure } from './measure.mjs';

export async function manyPartitions(ctx, partitions, records, maxSeconds) {
  const topic = `partitions-${partitions}`;
  return measure(
    ctx,
    {
      id: 'scale/partitions',
      group: 'scale',
      name: `${partitions.toLocaleString('en-US')} partitions: create, then produce 1 KiB acks=1`,
      client: 'kafkajs admin + Java ProducerPerformance',
    },
    async () => {
      const createMs = await createTopic(ctx.broker.bootstrap, topic, partitions);
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
          '1024',
          '--throughput',
          '-1',
          '--reporting-interval',
          '1000',
          '--command-property',
          'acks=1',
          ...JAVA_PRODUCER_PROPS,
        ],
        { timeoutMs: maxSeconds * 1000 },
      );
      const { summary, series } = parseProducerPerformance(run.lines);
      if (!summary) return { error: failureReason(run), metrics: { createMs } };
      return { clientCpuSeconds: run.cpuSeconds, metrics: { partitions, createMs, ...summary }, bytes: summary.records * 1024, series };
    },
  );
}

export async function manyConnections(ctx, connections, seconds) {
  const topic = 'connections';
  const partitions = 8;
  await createTopic(ctx.broker.bootstrap, topic, partitions);
  return measure(
    ctx,
    { id: 'scale/connections', group: 'scale', name: `${connections.toLocaleString('en-US')} client connections, 1 produce/s each`, client: 'bench wire client (Produce v7)' },
    async () => {
      const run = await runProcess(
        process.execPath,
        [
          join(ctx.root, 'bench', 'clients', 'connections.mjs'),
          '--bootstrap',
          ctx.broker.bootstrap,
          '--topic',
          topic,
          '--partitions',
          String(partitions),
          '--connections',
          String(connections),
          '--seconds',
          String(seconds),
        ],
        { cwd: ctx.root, timeoutMs: (seconds + 120) * 1000 },
      );
      const result = resultLine(run.lines);
      if (!result) return { error: failureReason(run) };
      return {
        clientCpuSeconds: run.cpuSeconds,
        metrics: result,
        bytes: result.requests * 1024,
        series: intervalSeries(run.lines),
        error:
          result.connections < connections || result.produceErrors > 0
            ? `${result.connections}/${connections} connected, ${result.produceErrors} produce errors: ${result.error}`
            : undefined,
      };
    },
  );
}
