// Wraps one workload: samples the broker's CPU and RSS while it runs and turns whatever the
// workload returns, or throws, into one result record for the report.

import { ProcessSampler } from '../proc-stats.mjs';

const GIB = 1024 ** 3;

/**
 * @param {object} ctx      the run context (broker, progress)
 * @param {object} meta     { id, group, name, client }
 * @param {() => Promise<{ metrics: object, bytes?: number, series?: object[], note?: string }>} body
 */
export async function measure(ctx, meta, body) {
  ctx.progress.step(`${ctx.broker.name}: ${meta.name} [${meta.client}]`);
  const sampler = new ProcessSampler(ctx.broker.pid, 500);
  let outcome;
  let error;
  try {
    outcome = await body();
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const usage = sampler.stop();
  const bytes = outcome?.bytes ?? 0;
  const result = {
    ...meta,
    broker: ctx.broker.name,
    ok: error === undefined && outcome?.error === undefined,
    error: error ?? outcome?.error,
    metrics: outcome?.metrics ?? {},
    note: outcome?.note,
    series: outcome?.series ?? [],
    cost: {
      cpuSeconds: usage.cpuSeconds,
      wallSeconds: usage.wallSeconds,
      peakRss: usage.peakRss,
      bytes,
      cpuSecondsPerGiB: bytes > 0 ? usage.cpuSeconds / (bytes / GIB) : undefined,
      cpuPercent: (100 * usage.cpuSeconds) / usage.wallSeconds,
    },
    resources: usage.samples.map((s) => ({ t: s.t, cpu: s.cpu, rss: s.rss })),
  };
  if (!result.ok) ctx.progress.note(`  ${ctx.broker.name}: ${meta.name} [${meta.client}] failed: ${result.error}`);
  ctx.results.push(result);
  return result;
}
