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
  // A cluster is sampled whole: its brokers, and etcd or the KRaft controller.
  const sampler = new ProcessSampler(ctx.broker.pids ?? ctx.broker.pid, 500);
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
      peakAnon: usage.peakAnon,
      peakFile: usage.peakFile,
      bytes,
      cpuSecondsPerGiB: bytes > 0 ? usage.cpuSeconds / (bytes / GIB) : undefined,
      cpuPercent: (100 * usage.cpuSeconds) / usage.wallSeconds,
      // The load generator's own CPU, and everything else on the machine (other processes):
      // with 2 cores, a client near 100-200% or a busy machine limits what the broker shows.
      clientCpuPercent: outcome?.clientCpuSeconds !== undefined ? (100 * outcome.clientCpuSeconds) / usage.wallSeconds : undefined,
      otherCpuPercent:
        outcome?.clientCpuSeconds !== undefined ? Math.max(0, (100 * (usage.systemCpuSeconds - usage.cpuSeconds - outcome.clientCpuSeconds)) / usage.wallSeconds) : undefined,
      machineCpuPercent: (100 * usage.systemCpuSeconds) / usage.wallSeconds,
    },
    resources: usage.samples.map((s) => ({ t: Math.round(s.t * 100) / 100, cpu: Math.round(s.cpu * 100) / 100, rss: s.rss, anon: s.anon })),
  };
  if (!result.ok) ctx.progress.note(`  ${ctx.broker.name}: ${meta.name} [${meta.client}] failed: ${result.error}`);
  ctx.results.push(result);
  return result;
}
