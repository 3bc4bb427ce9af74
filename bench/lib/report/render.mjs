// The report as text: a table for the terminal and a Markdown document.

import { comparisonRows, evaluateTargets, TARGETS } from './compare.mjs';

const MIB = 1024 * 1024;

export function formatNumber(value, unit) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  if (unit === 'rec/s') return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(ratio) {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—';
}

function formatTarget(t) {
  const value = Number.isFinite(t.value) ? `${formatNumber(t.value)}${t.unit === '×' ? '×' : ` ${t.unit}`}` : '—';
  const margin = Number.isFinite(t.margin) ? ` (${t.margin >= 0 ? '+' : '−'}${Math.abs(Math.round(t.margin * 100))}% vs target)` : '';
  return { value, status: t.status === 'n/a' ? `n/a${t.why ? `: ${t.why}` : ''}` : `${t.status}${margin}${t.why ? `: ${t.why}` : ''}` };
}

function pad(text, width) {
  const s = String(text);
  return s.length >= width ? s.slice(0, width) : s + ' '.repeat(width - s.length);
}

export function terminalReport(data) {
  const { spate, kafka } = data.brokers;
  const rows = comparisonRows(spate, kafka);
  const { targets } = evaluateTargets(spate, kafka, data.loopback);
  const lines = [];
  const header = [pad('workload', 46), pad('client', 30), pad('figure', 12), pad('Spate', 10), pad('Kafka', 10), 'Spate/Kafka'];
  lines.push(header.join(' '));
  lines.push('-'.repeat(122));
  for (const row of rows) {
    lines.push(
      [
        pad(row.name, 46),
        pad(row.client, 30),
        pad(`${row.figure}`, 12),
        pad(row.spateError ? 'FAILED' : formatNumber(row.spate, row.unit), 10),
        pad(kafka ? (row.kafkaError ? 'FAILED' : formatNumber(row.kafka, row.unit)) : '', 10),
        formatRatio(row.ratio),
      ].join(' '),
    );
  }
  lines.push('');
  lines.push(`loopback limit (plain Node socket sink): ${formatNumber(data.loopback?.payloadMbPerSec)} MB/s of 1 KiB-record payload`);
  lines.push(`start to ready: Spate ${formatNumber(median(spate.startToReadyMs))} ms${kafka ? `, Kafka ${formatNumber(median(kafka.startToReadyMs))} ms` : ''}`);
  lines.push(
    `idle RSS: Spate ${formatNumber(spate.idleRss / MIB)} MiB${kafka ? `, Kafka ${formatNumber(kafka.idleRss / MIB)} MiB` : ''}; peak RSS: Spate ${formatNumber(spate.peakRss / MIB)} MiB${kafka ? `, Kafka ${formatNumber(kafka.peakRss / MIB)} MiB` : ''}`,
  );
  lines.push('');
  lines.push('targets:');
  for (const t of targets) {
    const f = formatTarget(t);
    lines.push(`  ${pad(t.target, 44)} ${pad(f.value, 10)} ${f.status}${t.detail ? `  [${t.detail}]` : ''}`);
  }
  return lines.join('\n');
}

function median(values = []) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function mdEscape(text) {
  return String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
}

export function markdownReport(data, chartPrefix) {
  const { spate, kafka } = data.brokers;
  const rows = comparisonRows(spate, kafka);
  const { targets, spateCost, kafkaCost } = evaluateTargets(spate, kafka, data.loopback);
  const out = [];
  const m = data.meta;
  out.push(`# Spate benchmark (${m.mode} run${kafka ? `, against Apache Kafka ${m.kafkaVersion}` : ''})`);
  out.push('');
  out.push(`${m.date}. \`${m.command}\`. Spate ${m.spateCommit}${m.spateDirty ? ' (with uncommitted changes in the work tree)' : ''}.`);
  if (kafka?.fromCache) out.push(`\nKafka figures are from an earlier run on this machine (${kafka.fromCache}), not measured now.`);
  out.push('');
  out.push(
    `Machine: ${m.machine.cpu}, ${m.machine.cores} cores, ${m.machine.memoryGiB} GiB, Linux ${m.machine.kernel}; Node ${m.node}; ${m.java}. Broker, load generators and the bench share the same ${m.machine.cores} cores, so every figure is what this whole machine does, not the broker alone.`,
  );
  out.push('');
  const otherLoad = (broker) => {
    const runs = (broker?.results ?? []).filter((r) => Number.isFinite(r.cost.otherCpuPercent));
    const seconds = runs.reduce((sum, r) => sum + r.cost.wallSeconds, 0);
    return seconds > 0 ? runs.reduce((sum, r) => sum + r.cost.otherCpuPercent * r.cost.wallSeconds, 0) / seconds : undefined;
  };
  const spateOther = otherLoad(spate);
  const kafkaOther = kafka && !kafka.fromCache ? otherLoad(kafka) : undefined;
  if (Number.isFinite(spateOther)) {
    out.push(
      `Other processes on the machine (not the broker, not the load generator) used on average ${Math.round(spateOther)}% of the 200% during the Spate workloads${Number.isFinite(kafkaOther) ? ` and ${Math.round(kafkaOther)}% during Kafka's` : ''}.${spateOther > 20 || kafkaOther > 20 ? ' The machine was shared, so throughput and latency figures carry that noise; CPU per GiB, measured on the broker process alone, much less so.' : ''}`,
    );
    out.push('');
  }
  out.push('## Targets (issues 6, 11 and 14)');
  out.push('');
  out.push('| target | workload | value | status |');
  out.push('| --- | --- | --- | --- |');
  for (const t of targets) {
    const f = formatTarget(t);
    out.push(`| ${mdEscape(t.target)} | ${mdEscape(t.detail)} | ${f.value} | ${mdEscape(f.status)} |`);
  }
  out.push('');
  out.push(`Ratios are Spate / Kafka with the same client and settings. "+x% vs target" is how far past the target a figure is; "−x%" how far short.`);
  out.push('');
  const groups = [
    ['produce', 'Produce throughput'],
    ['consume', 'Consume throughput'],
    ['latency', 'End-to-end latency'],
    ['scale', 'Partitions and connections'],
    ['replicated', 'Replicated: three brokers, replication factor 3 (Spate: three processes on etcd)'],
    ['gateway', 'HTTP and WebSocket gateway, and the cost of /metrics (Spate only)'],
  ];
  for (const [group, title] of groups) {
    const groupRows = rows.filter((r) => r.group === group);
    if (groupRows.length === 0) continue;
    out.push(`## ${title}`);
    out.push('');
    const throughput = group === 'produce' || group === 'consume';
    out.push(`| workload | client | figure | Spate | ${kafka ? `Kafka ${m.kafkaVersion} | Spate/Kafka |` : ''}${throughput ? ' limited by (Spate; Kafka) |' : ''}`);
    out.push(`| --- | --- | --- | ---: | ${kafka ? '---: | ---: |' : ''}${throughput ? ' --- |' : ''}`);
    for (const r of groupRows) {
      const spateCell = r.spateError ? `failed: ${mdEscape(r.spateError)}` : `${formatNumber(r.spate, r.unit)} ${r.unit}`;
      const kafkaCell = r.kafkaError ? `failed: ${mdEscape(r.kafkaError)}` : r.kafka === undefined ? '—' : `${formatNumber(r.kafka, r.unit)} ${r.unit}`;
      const limit = throughput ? ` ${r.figure === 'MB/s' ? `${r.spateLimit ?? '—'}; ${r.kafkaLimit ?? '—'}` : ''} |` : '';
      out.push(`| ${mdEscape(r.name)} | ${mdEscape(r.client)} | ${r.figure} | ${spateCell} | ${kafka ? `${kafkaCell} | ${formatRatio(r.ratio)} |` : ''}${limit}`);
    }
    if (throughput) {
      out.push('');
      out.push(
        '"Limited by" reads where the CPU went during the run (cost table below): the machine when its 2 cores were ≥ 185% busy, the client when the load generator used ≥ 90% of a core while the broker used < 50%. A throughput ratio between two client- or machine-bound runs says more about the load generator than about the brokers; compare CPU per GiB instead.',
      );
    }
    const notes = [...new Set(groupRows.map((r) => r.note).filter(Boolean))];
    if (notes.length) {
      out.push('');
      for (const n of notes) out.push(`- ${mdEscape(n)}`);
    }
    out.push('');
  }

  out.push('## Broker cost');
  out.push('');
  out.push(`| figure | Spate | ${kafka ? `Kafka ${m.kafkaVersion} | Spate/Kafka |` : ''}`);
  out.push(`| --- | ---: | ${kafka ? '---: | ---: |' : ''}`);
  const costRow = (label, s, k, unit) => {
    const ratio = Number.isFinite(s) && Number.isFinite(k) && k !== 0 ? s / k : undefined;
    out.push(`| ${label} | ${formatNumber(s)} ${unit} | ${kafka ? `${formatNumber(k)} ${unit} | ${formatRatio(ratio)} |` : ''}`);
  };
  costRow('start to ready (spawn to first ApiVersions answer, median)', median(spate.startToReadyMs), median(kafka?.startToReadyMs), 'ms');
  if (spate.selfReportedStartMs !== undefined) {
    out.push(`| of which Spate's own start (its ready line: "started in N ms", after Node has loaded the code) | ${spate.selfReportedStartMs} ms | ${kafka ? '— | — |' : ''}`);
  }
  costRow('idle RSS after start', spate.idleRss / MIB, kafka?.idleRss / MIB, 'MiB');
  costRow('peak RSS over the run (VmHWM)', spate.peakRss / MIB, kafka?.peakRss / MIB, 'MiB');
  const peakOf = (broker, key) => Math.max(0, ...(broker?.results ?? []).map((r) => r.cost[key]).filter(Number.isFinite)) / MIB || undefined;
  costRow('peak anonymous RSS (heap, buffers: RssAnon)', peakOf(spate, 'peakAnon'), peakOf(kafka, 'peakAnon'), 'MiB');
  costRow('peak file-backed RSS (mapped files: RssFile)', peakOf(spate, 'peakFile'), peakOf(kafka, 'peakFile'), 'MiB');
  costRow('CPU per GiB moved (Java produce + consume)', spateCost?.perGiB, kafkaCost?.perGiB, 's/GiB');
  out.push('');
  out.push(
    'RSS counts mapped files: a broker that mmaps its segments (Spate reads them that way) shows the page cache of the data it touched as its own RSS (RssFile), which the kernel takes back under memory pressure. RssAnon is the memory the process itself allocated (heap, buffers), the figure to compare.',
  );
  out.push('');
  out.push(
    'Per workload: broker CPU seconds per GiB moved (broker process only, user + system), and where the CPU went while it ran, in % of one core: the broker, the load generator, and every other process on the machine. The machine has 2 cores (200%): a load generator near 100-200% was the limit, not the broker; a large "other" means something else was running.',
  );
  out.push('');
  out.push(`| workload | client | Spate s/GiB | Spate: broker / client / other % | ${kafka ? 'Kafka s/GiB | Kafka: broker / client / other % |' : ''}`);
  out.push(`| --- | --- | ---: | ---: | ${kafka ? '---: | ---: |' : ''}`);
  const split = (r) => (r ? `${formatNumber(r.cost.cpuPercent)} / ${formatNumber(r.cost.clientCpuPercent)} / ${formatNumber(r.cost.otherCpuPercent)}` : '—');
  for (const s of spate.results) {
    const k = kafka?.results.find((r) => r.id === s.id);
    out.push(
      `| ${mdEscape(s.name)} | ${mdEscape(s.client)} | ${formatNumber(s.cost.cpuSecondsPerGiB)} | ${split(s)} | ${kafka ? `${formatNumber(k?.cost.cpuSecondsPerGiB)} | ${split(k)} |` : ''}`,
    );
  }
  out.push('');
  out.push(
    `Loopback limit: a plain Node socket sink received a 1 KiB-record produce byte stream at ${formatNumber(data.loopback?.wireMbPerSec)} MB/s on the wire, ${formatNumber(data.loopback?.payloadMbPerSec)} MB/s of record payload (the unit ProducerPerformance reports).`,
  );
  out.push('');

  out.push('## Charts');
  out.push('');
  for (const name of data.charts ?? []) out.push(`![${name}](${chartPrefix}${name})`, '');

  if (spate.profiles?.length) {
    out.push('## Where Spate spends its CPU (profiles of missed targets)');
    out.push('');
    out.push(
      'Each profile is a separate Spate run under `node --cpu-prof` with the workload named; self time is time with the function on top of the stack, as a share of the time the broker was not idle. A call into the native addon that is synchronous is counted in the JavaScript function that makes it (`append` includes the native append, `read` the native read). The raw `.cpuprofile` files are in `bench/results/profiles/` (git-ignored; open them in Chrome DevTools).',
    );
    out.push('');
    for (const p of spate.profiles) {
      out.push(`### ${p.scenario}${p.reason ? ` (for: ${p.reason})` : ''}`);
      out.push('');
      if (p.error) {
        out.push(`Profile failed: ${mdEscape(p.error)}`);
        out.push('');
        continue;
      }
      const idleShare = p.summary.idleSeconds / Math.max(0.001, p.summary.idleSeconds + p.summary.busySeconds);
      const window = p.summary.window === 'workload' ? ' Samples from the first request to the start of the shutdown (module loading and the shutdown flush left out).' : '';
      out.push(
        `Busy ${p.summary.busySeconds.toFixed(1)} s, idle ${p.summary.idleSeconds.toFixed(1)} s; garbage collection ${p.summary.gcPercent}% of busy time. File: \`${p.file}\`.${window}`,
      );
      if (idleShare > 0.5) {
        out.push('');
        out.push(
          `The broker's main thread was idle ${Math.round(idleShare * 100)}% of this run: its JavaScript was not what limited the workload (look at the client's CPU in the cost table, at time spent waiting on the native addon's worker threads, or at how requests are pipelined).`,
        );
      }
      out.push('');
      out.push('| self % | self ms | function | location |');
      out.push('| ---: | ---: | --- | --- |');
      for (const f of p.summary.topFunctions) out.push(`| ${f.selfPercent} | ${f.selfMs} | ${mdEscape(f.function)} | ${mdEscape(f.location)} |`);
      out.push('');
      out.push('By file: ' + p.summary.topFiles.map((f) => `${f.file} ${f.selfPercent}%`).join(', ') + '.');
      out.push('');
    }
  }

  for (const broker of [spate, kafka]) {
    if (!broker?.logWarnings?.count) continue;
    out.push(`## ${broker.name === 'spate' ? 'Spate' : 'Kafka'}'s log: ${broker.logWarnings.count} WARN/ERROR line(s)`);
    out.push('');
    out.push('```');
    out.push(...broker.logWarnings.first);
    out.push('```');
    out.push('');
  }
  const failures = [...spate.results, ...(kafka?.results ?? [])].filter((r) => !r.ok);
  if (failures.length || spate.errors?.length || kafka?.errors?.length) {
    out.push('## Failures');
    out.push('');
    for (const f of failures) out.push(`- ${f.broker}: ${mdEscape(f.name)} [${mdEscape(f.client)}]: ${mdEscape(f.error)}`);
    for (const e of [...(spate.errors ?? []), ...(kafka?.errors ?? [])]) out.push(`- ${mdEscape(e)}`);
    out.push('');
  }

  out.push('## How this was measured');
  out.push('');
  out.push(...data.method.map((line) => `- ${line}`));
  out.push('');
  out.push(
    `Targets: throughput ≥ ${TARGETS.throughputRatio}× Kafka's with the same client; e2e p99 ≤ 1/3 of Kafka's at a rate both sustain; start to ready < ${TARGETS.startToReadyMs} ms; idle RSS < ${TARGETS.idleRssMiB} MiB; CPU per GiB ≤ ${TARGETS.cpuPerGiBRatio}× Kafka's; produce within ${TARGETS.loopbackFactor}× of the loopback limit.`,
  );
  out.push('');
  return out.join('\n');
}
