// The report's charts, built from the run data: throughput over time per workload, latency
// percentiles per rate, and the broker's CPU and RSS over the whole run.

import { COLORS, lineChart, logBarChart } from './svg.mjs';

const MIB = 1024 * 1024;

function seriesOf(broker, id, pick = (p) => p.mbPerSec) {
  const result = broker?.results.find((r) => r.id === id);
  return (result?.series ?? []).map((p) => ({ x: p.t, y: pick(p) }));
}

function brokerSeries(data, id, pick) {
  const out = [{ name: 'Spate', color: COLORS.spate, points: seriesOf(data.brokers.spate, id, pick) }];
  if (data.brokers.kafka) out.push({ name: `Kafka ${data.meta.kafkaVersion}`, color: COLORS.kafka, dashed: true, points: seriesOf(data.brokers.kafka, id, pick) });
  return out;
}

export function buildCharts(data) {
  const charts = {};
  const spate = data.brokers.spate;
  const has = (prefix) => spate.results.some((r) => r.id.startsWith(prefix));

  if (has('produce/')) {
    const panels = [];
    for (const r of spate.results.filter((x) => x.group === 'produce')) {
      panels.push({ title: `${r.name} — ${r.client}`, xLabel: 'seconds', yLabel: 'MB/s', series: brokerSeries(data, r.id) });
    }
    charts['throughput-produce.svg'] = lineChart({ title: 'Produce throughput over time (MB/s of record payload)', panels });
  }
  if (has('consume/')) {
    const panels = spate.results
      .filter((x) => x.group === 'consume')
      .map((r) => ({ title: `${r.name} — ${r.client}`, xLabel: 'seconds', yLabel: 'MB/s', series: brokerSeries(data, r.id) }));
    charts['throughput-consume.svg'] = lineChart({ title: 'Consume throughput over time (MB/s of record payload)', panels });
  }
  const rates = spate.results.filter((r) => r.group === 'latency');
  if (rates.length > 0) {
    const series = [{ name: 'Spate', color: COLORS.spate }];
    if (data.brokers.kafka) series.push({ name: `Kafka ${data.meta.kafkaVersion}`, color: COLORS.kafka });
    const categories = ['p50', 'p99', 'p99.9', 'max'];
    const pick = (result) => (result?.ok ? [result.metrics.p50, result.metrics.p99, result.metrics.p999, result.metrics.max] : []);
    const groups = rates.map((r) => {
      const k = data.brokers.kafka?.results.find((x) => x.id === r.id);
      const sv = pick(r);
      const kv = pick(k);
      return {
        title: r.id === 'latency/serial' ? 'one record at a time (EndToEndLatency)' : `${r.metrics.rate?.toLocaleString('en-US') ?? ''} records/s, 1 KiB`,
        values: categories.map((_, c) => [sv[c], kv[c]]),
      };
    });
    charts['latency-percentiles.svg'] = logBarChart({ title: 'End-to-end latency, produce to consumer receipt (ms, log scale)', yLabel: 'ms', categories, series, groups });
  }
  const timeline = (broker, pick) => {
    const points = [];
    let offset = 0;
    for (const r of broker?.results ?? []) {
      let previous;
      for (const s of r.resources) {
        if (previous) points.push({ x: offset + s.t, y: pick(s, previous) });
        previous = s;
      }
      offset += r.cost.wallSeconds;
    }
    return points;
  };
  const cpu = (s, p) => (100 * (s.cpu - p.cpu)) / Math.max(0.001, s.t - p.t);
  const rss = (s) => s.rss / MIB;
  const anon = (s) => s.anon / MIB;
  const resourceSeries = (pick, anonPick) => {
    const out = [{ name: 'Spate', color: COLORS.spate, points: timeline(spate, pick) }];
    if (data.brokers.kafka) out.push({ name: `Kafka ${data.meta.kafkaVersion}`, color: COLORS.kafka, dashed: true, points: timeline(data.brokers.kafka, pick) });
    if (anonPick) {
      out.push({ name: 'Spate anonymous', color: '#9ecae1', points: timeline(spate, anonPick).filter((p) => Number.isFinite(p.y)) });
      if (data.brokers.kafka)
        out.push({ name: 'Kafka anonymous', color: '#f4a6a6', dashed: true, points: timeline(data.brokers.kafka, anonPick).filter((p) => Number.isFinite(p.y)) });
    }
    return out;
  };
  charts['broker-resources.svg'] = lineChart({
    title: 'Broker process over the run (workloads back to back)',
    columns: 1,
    panels: [
      { title: 'CPU (% of one core)', xLabel: 'seconds of workload', yLabel: '%', series: resourceSeries(cpu) },
      {
        title: 'Resident memory (MiB): all, and anonymous (heap and buffers, without mapped files)',
        xLabel: 'seconds of workload',
        yLabel: 'MiB',
        series: resourceSeries(rss, anon),
      },
    ],
  });
  return charts;
}
