// End-to-end latency, produce to consumer receipt, 1 KiB records:
//   - at fixed rates (SpateBench e2e: the OpenMessaging Benchmark's method, HdrHistogram,
//     latency from the scheduled send time, the first seconds left out as warm-up);
//   - one record at a time (Kafka's EndToEndLatency: send, wait until the consumer has it,
//     repeat), the lowest latency the broker can give.

import { createTopic } from '../admin.mjs';
import { resultLine, intervalSeries, failureReason } from '../run-process.mjs';
import { TOOL, parseEndToEndLatency } from '../java-tools.mjs';
import { measure } from './measure.mjs';

export async function latencyAtRate(ctx, rate, seconds) {
  const topic = `latency-${rate}`;
  await createTopic(ctx.broker.bootstrap, topic, 8);
  return measure(
    ctx,
    {
      id: `latency/${rate}`,
      group: 'latency',
      name: `End-to-end latency at ${rate.toLocaleString('en-US')} records/s, 1 KiB, acks=all`,
      client: 'Java producer + assign consumer (SpateBench)',
    },
    async () => {
      const run = await ctx.tools.run(
        TOOL.spateBench,
        [
          'e2e',
          '--bootstrap',
          ctx.broker.bootstrap,
          '--topic',
          topic,
          '--rate',
          String(rate),
          '--seconds',
          String(seconds),
          '--record-size',
          '1024',
          '--acks',
          'all',
          '--warmup-seconds',
          String(Math.min(5, Math.max(3, seconds * 0.4))),
        ],
        { timeoutMs: (seconds + 90) * 1000 },
      );
      const result = resultLine(run.lines);
      if (!result) return { error: failureReason(run) };
      const sustained = result.received === result.sent && result.sendErrors === 0 && result.seconds < seconds * 1.5 + 5;
      return {
        clientCpuSeconds: run.cpuSeconds,
        metrics: { ...result, sustained },
        bytes: result.received * 1024 * 2, // in and out of the broker
        series: intervalSeries(run.lines),
        note: sustained ? undefined : `not sustained: ${result.received} of ${result.sent} records received in ${result.seconds.toFixed(1)} s, ${result.sendErrors} send errors`,
      };
    },
  );
}

export async function latencyOneAtATime(ctx, records) {
  const topic = 'latency-serial';
  await createTopic(ctx.broker.bootstrap, topic, 1);
  return measure(ctx, { id: 'latency/serial', group: 'latency', name: 'End-to-end latency, one record at a time, 1 KiB, acks=all', client: 'Java EndToEndLatency' }, async () => {
    const run = await ctx.tools.run(
      TOOL.endToEndLatency,
      ['--bootstrap-server', ctx.broker.bootstrap, '--topic', topic, '--num-records', String(records), '--producer-acks', 'all', '--record-size', '1024'],
      { timeoutMs: 120_000 },
    );
    const figures = parseEndToEndLatency(run.lines);
    if (!figures) return { error: failureReason(run) };
    // The tool reports whole milliseconds; a failure after the figures (closing) is noted.
    return {
      clientCpuSeconds: run.cpuSeconds,
      metrics: figures,
      bytes: records * 1024 * 2,
      note: run.code !== 0 ? `the tool exited ${run.code} after printing its figures: ${failureReason(run)}` : undefined,
    };
  });
}
