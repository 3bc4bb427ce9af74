// The regression guard: every run that has Kafka figures (--against kafka, or the saved
// Kafka run of the same mode) adds one column of Spate/Kafka ratios to
// bench/results/ratios.json, and bench/results/ratios.md shows the last runs side by side,
// so a change that costs throughput, CPU or latency shows up in the next `npm run bench --
// --quick --against kafka`. Kept: the last 12 runs.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { comparisonRows, cpuPerGiB } from './compare.mjs';

const KEEP = 12;
const MIB = 1024 * 1024;

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : Number.NaN;
}

/** One run's ratios: { label: Spate/Kafka }, lower or higher better as the label says. */
export function runRatios(data) {
  const spate = data.brokers.spate;
  const kafka = data.brokers.kafka;
  const ratios = {};
  for (const row of comparisonRows(spate, kafka)) {
    if (!Number.isFinite(row.ratio)) continue;
    // MB/s only: with the same records on both brokers, records/s gives the same ratio.
    const wanted = row.group === 'produce' || row.group === 'consume' ? row.figure === 'MB/s' : ['p99', 'p99.9', 'create'].includes(row.figure);
    if (wanted) ratios[`${row.name} [${row.client}] ${row.figure}`] = row.ratio;
  }
  for (const group of ['produce', 'consume']) {
    const ids = new Set(spate.results.filter((r) => r.group === group && r.id.includes('/java') && r.ok && kafka.results.find((k) => k.id === r.id)?.ok).map((r) => r.id));
    const s = cpuPerGiB(spate, ids);
    const k = cpuPerGiB(kafka, ids);
    if (s && k) ratios[`broker CPU per GiB, ${group} (Java) (lower is better)`] = s.perGiB / k.perGiB;
  }
  const ready = median(spate.startToReadyMs ?? []) / median(kafka.startToReadyMs ?? []);
  if (Number.isFinite(ready)) ratios['start to ready (lower is better)'] = ready;
  if (spate.idleRss && kafka.idleRss) ratios['idle RSS (lower is better)'] = spate.idleRss / MIB / (kafka.idleRss / MIB);
  return ratios;
}

/** Adds this run to bench/results/ratios.json and rewrites ratios.md. */
export function writeRatioHistory(data, resultsDir) {
  const file = join(resultsDir, 'ratios.json');
  const history = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
  const others = Object.values(data.brokers)
    .flatMap((b) => b.results ?? [])
    .map((r) => r.cost?.otherCpuPercent)
    .filter(Number.isFinite);
  history.push({
    date: data.meta.date,
    mode: data.meta.mode,
    commit: `${data.meta.spateCommit}${data.meta.spateDirty ? '+' : ''}`,
    kafka: data.brokers.kafka.fromCache ? `saved run of ${data.brokers.kafka.fromCache}` : 'same run',
    pinned: Boolean(data.meta.pinning),
    otherCpuPercent: others.length ? others.reduce((a, b) => a + b, 0) / others.length : undefined,
    ratios: runRatios(data),
  });
  const kept = history.slice(-KEEP);
  writeFileSync(file, JSON.stringify(kept, null, 1));

  const labels = [...new Set(kept.flatMap((run) => Object.keys(run.ratios)))];
  const runs = [...kept].reverse(); // newest first
  const out = [
    '# Spate / Kafka, run by run',
    '',
    'Written by `npm run bench` whenever Kafka figures are at hand (`--against kafka`, or the saved Kafka run of the same mode). Newest run first. Above 1 is better for throughput; for the rows marked "lower is better", below 1 is. "other CPU" is what the rest of the machine used of its 200% during the workloads: a busy machine makes every ratio noisier.',
    '',
    `| figure | ${runs.map((r) => `${r.date.slice(0, 16).replace('T', ' ')} ${r.mode} ${r.commit}`).join(' | ')} |`,
    `| --- | ${runs.map(() => '---:').join(' | ')} |`,
    `| Kafka figures | ${runs.map((r) => r.kafka).join(' | ')} |`,
    `| pinned (broker on its own core) | ${runs.map((r) => (r.pinned ? 'yes' : 'no')).join(' | ')} |`,
    `| other CPU | ${runs.map((r) => (Number.isFinite(r.otherCpuPercent) ? `${Math.round(r.otherCpuPercent)}%` : '—')).join(' | ')} |`,
    ...labels.map((label) => `| ${label.replace(/\|/g, '\\|')} | ${runs.map((r) => (Number.isFinite(r.ratios[label]) ? `${r.ratios[label].toFixed(2)}×` : '—')).join(' | ')} |`),
    '',
  ];
  writeFileSync(join(resultsDir, 'ratios.md'), out.join('\n'));
}
