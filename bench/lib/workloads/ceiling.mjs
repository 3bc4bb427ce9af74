// A broker's ceiling with the bench's own load generator (bench/load/generator.mjs): pre-built
// Produce requests pipelined over several connections, then a fetch loop that only counts
// bytes over what was written. Each is repeated; the figure is the median run, reported
// with the slowest and fastest, so one unlucky second on a shared machine shows as spread.

import { join } from 'node:path';
import { createTopic, deleteTopic } from '../admin.mjs';
import { runProcess, resultLine, intervalSeries, failureReason } from '../run-process.mjs';
import { measure } from './measure.mjs';

export const CEILING_CASES = [
  { key: '1k', size: 1024, sizeLabel: '1 KiB' },
  { key: '100b', size: 100, sizeLabel: '100 B' },
];

// Enough connections and pipelining that the broker, not a round trip, is the limit.
const CONNECTIONS = 4;
const INFLIGHT = 4;
const PARTITIONS = 8;

function spread(runs, pick) {
  const values = runs.map(pick).sort((a, b) => a - b);
  return { median: values[Math.floor(values.length / 2)], min: values[0], max: values.at(-1), runs: values };
}

function summarise(runs, series) {
  const mb = spread(runs, (r) => r.mbPerSec);
  const rec = spread(runs, (r) => r.recordsPerSec);
  const bytes = runs.reduce((sum, r) => sum + r.bytes, 0);
  return {
    metrics: {
      mbPerSec: mb.median,
      recordsPerSec: rec.median,
      spread: { mbPerSec: mb, recordsPerSec: rec },
      repeats: runs.length,
      records: runs.reduce((sum, r) => sum + r.records, 0),
    },
    bytes,
    series,
    clientCpuSeconds: runs.reduce((sum, r) => sum + r.cpuSeconds, 0),
    note: `median of ${runs.length} runs; MB/s ${mb.min.toFixed(0)}-${mb.max.toFixed(0)}, records/s ${Math.round(rec.min).toLocaleString('en-US')}-${Math.round(rec.max).toLocaleString('en-US')}`,
  };
}

async function generator(ctx, args, seconds) {
  const run = await runProcess(process.execPath, [join(ctx.root, 'bench', 'load', 'generator.mjs'), ...args, '--bootstrap', ctx.broker.bootstrap], {
    cwd: ctx.root,
    timeoutMs: (seconds + 30) * 1000,
  });
  const result = resultLine(run.lines);
  if (!result) throw new Error(failureReason(run));
  if (result.errors > 0) throw new Error(result.firstError);
  return { result, series: intervalSeries(run.lines) };
}

/**
 * Produce for `seconds`, `repeats` times, then read it all back the same number of times.
 * Returns [produceResult, fetchResult] (either may have failed).
 */
export async function ceiling(ctx, c, seconds, repeats) {
  const topic = `ceiling-${c.key}`;
  await createTopic(ctx.broker.bootstrap, topic, PARTITIONS);
  const common = ['--topic', topic, '--partitions', String(PARTITIONS), '--connections', String(CONNECTIONS), '--record-size', String(c.size)];
  let written = 0;
  const produced = await measure(
    ctx,
    { id: `produce/ceiling-${c.key}/spate-load`, group: 'produce', name: `Produce ceiling, ${c.sizeLabel} records, acks=1`, client: 'bench load generator' },
    async () => {
      const runs = [];
      let series = [];
      for (let i = 0; i < repeats; i++) {
        const { result, series: s } = await generator(ctx, ['produce', ...common, '--inflight', String(INFLIGHT), '--acks', '1', '--seconds', String(seconds)], seconds);
        runs.push(result);
        if (i === 0) series = s;
        written += result.records;
      }
      return summarise(runs, series);
    },
  );
  if (!produced.ok || written === 0) {
    await deleteTopic(ctx.broker.bootstrap, topic);
    return [produced];
  }
  // The generator spreads every request over all partitions alike.
  const perPartition = Math.floor(written / PARTITIONS);
  const fetched = await measure(
    ctx,
    { id: `consume/ceiling-${c.key}/spate-load`, group: 'consume', name: `Fetch ceiling, ${c.sizeLabel} records from the start`, client: 'bench load generator' },
    async () => {
      const runs = [];
      let series = [];
      for (let i = 0; i < repeats; i++) {
        const { result, series: s } = await generator(ctx, ['fetch', ...common, '--until', String(perPartition), '--seconds', String(seconds * 3)], seconds * 3);
        runs.push(result);
        if (i === 0) series = s;
      }
      return summarise(runs, series);
    },
  );
  await deleteTopic(ctx.broker.bootstrap, topic);
  return [produced, fetched];
}
