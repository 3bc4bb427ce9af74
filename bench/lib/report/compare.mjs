// Turns the two brokers' results into comparison rows (one per workload, client and
// figure) and checks issue 6's targets against them.

const MIB = 1024 * 1024;

export const TARGETS = {
  throughputRatio: 1.5, // produce and consume MB/s, Spate / Kafka, same client
  latencyRatio: 1 / 3, // e2e p99 at a rate both sustain, Spate / Kafka
  startToReadyMs: 100,
  idleRssMiB: 60,
  cpuPerGiBRatio: 0.5, // broker CPU seconds per GiB moved, Spate / Kafka (issue 11)
  loopbackFactor: 2, // loopback limit / Spate produce MB/s
  replicatedRatio: 1, // replicated produce MB/s, Spate / Kafka (issue 10)
  failoverP50Ms: 2000, // and below Kafka's (issue 10)
  metricsCostPercent: 3, // produce throughput lost to the metrics hook (issue 14)
};

function byId(results) {
  return new Map((results ?? []).map((r) => [r.id, r]));
}

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Which figures each kind of workload is compared on: [label, unit, pick(result), better]. */
function figuresOf(result) {
  const m = result.metrics;
  switch (result.group) {
    case 'produce':
    case 'consume':
      return [
        ['MB/s', 'MB/s', m.mbPerSec, 'higher'],
        ['records/s', 'rec/s', m.recordsPerSec, 'higher'],
      ];
    case 'latency':
      return result.id === 'latency/serial'
        ? [
            ['p50', 'ms', m.p50, 'lower'],
            ['p99', 'ms', m.p99, 'lower'],
            ['p99.9', 'ms', m.p999, 'lower'],
          ]
        : [
            ['p50', 'ms', m.p50, 'lower'],
            ['p99', 'ms', m.p99, 'lower'],
            ['p99.9', 'ms', m.p999, 'lower'],
            ['max', 'ms', m.max, 'lower'],
          ];
    case 'replicated':
      return result.id === 'replicated/failover/java'
        ? [
            ['failover p50', 'ms', m.p50Ms, 'lower'],
            ['failover max', 'ms', m.maxMs, 'lower'],
            ['records lost', '', m.lost, 'lower'],
          ]
        : [
            ['MB/s', 'MB/s', m.mbPerSec, 'higher'],
            ['records/s', 'rec/s', m.recordsPerSec, 'higher'],
            ['p99', 'ms', m.p99Ms, 'lower'],
          ];
    case 'gateway':
      if (result.id.startsWith('gateway/metrics-cost')) {
        return [
          ['throughput cost', '%', m.costPercent, 'lower'],
          ['paired cost', '%', m.pairedCostPercent?.median, 'lower'],
          ['CPU/record cost', '%', m.cpuCostPercent, 'lower'],
          ['hook alone, CPU', '%', m.hookCpuCostPercent, 'lower'],
          ['scraped: cost', '%', m.scrapedCostPercent, 'lower'],
        ];
      }
      return [
        ['records/s', 'rec/s', m.recordsPerSec, 'higher'],
        ['p50', 'ms', m.p50, 'lower'],
        ['p99', 'ms', m.p99, 'lower'],
      ];
    default:
      if (result.id === 'scale/partitions') {
        return [
          ['create', 'ms', m.createMs, 'lower'],
          ['produce MB/s', 'MB/s', m.mbPerSec, 'higher'],
        ];
      }
      if (result.id === 'scale/connections') {
        return [
          ['open all', 'ms', m.openMs, 'lower'],
          ['produce p99', 'ms', m.latency?.p99, 'lower'],
          // Anonymous memory: Spate maps its segment files, so its total RSS also counts
          // the page cache of every segment it touched (RssFile), which the kernel reclaims.
          ['broker anon RSS', 'MiB', (result.cost.peakAnon || result.cost.peakRss) / MIB, 'lower'],
        ];
      }
      return [];
  }
}

/**
 * What most likely limited a workload, from where the CPU went while it ran (2 cores =
 * 200%): the whole machine, the load generator, or the broker.
 */
export function limitedBy(result) {
  const c = result?.cost;
  if (!c) return undefined;
  if (c.machineCpuPercent >= 185) return `machine (${Math.round(c.machineCpuPercent)}% of 200% busy)`;
  if (c.clientCpuPercent >= 90 && c.cpuPercent < 50) return `client (${Math.round(c.clientCpuPercent)}% CPU)`;
  if (c.cpuPercent >= 90) return `broker (${Math.round(c.cpuPercent)}% CPU)`;
  return 'neither CPU-bound';
}

/** Rows for the results tables: { group, name, client, figure, unit, spate, kafka, ratio, better, error }. */
export function comparisonRows(spate, kafka) {
  const kafkaById = byId(kafka?.results);
  const rows = [];
  for (const s of spate.results) {
    const k = kafkaById.get(s.id);
    for (const [figure, unit, spateValue, better] of figuresOf(s)) {
      const kafkaFigure = k ? figuresOf(k).find((f) => f[0] === figure) : undefined;
      const kafkaValue = kafkaFigure?.[2];
      rows.push({
        id: s.id,
        group: s.group,
        name: s.name,
        client: s.client,
        figure,
        unit,
        spate: s.ok || Number.isFinite(spateValue) ? spateValue : undefined,
        kafka: k && (k.ok || Number.isFinite(kafkaValue)) ? kafkaValue : undefined,
        ratio: Number.isFinite(spateValue) && Number.isFinite(kafkaValue) && kafkaValue !== 0 ? spateValue / kafkaValue : undefined,
        better,
        spateLimit: limitedBy(s),
        kafkaLimit: limitedBy(k),
        spateError: s.ok ? undefined : s.error,
        kafkaError: k && !k.ok ? k.error : undefined,
        note: [s.note && `Spate: ${s.note}`, k?.note && `Kafka: ${k.note}`].filter(Boolean).join('; ') || undefined,
      });
    }
  }
  return rows;
}

/** Broker CPU seconds per GiB over the Java produce and consume workloads (the same set on both). */
export function cpuPerGiB(broker, ids) {
  let cpu = 0;
  let bytes = 0;
  for (const r of broker.results) {
    if (!ids.has(r.id) || !r.ok || !(r.cost.bytes > 0)) continue;
    cpu += r.cost.cpuSeconds;
    bytes += r.cost.bytes;
  }
  return bytes > 0 ? { cpuSeconds: cpu, gib: bytes / 1024 ** 3, perGiB: cpu / (bytes / 1024 ** 3) } : undefined;
}

function verdict(value, target, direction) {
  if (!Number.isFinite(value)) return { status: 'n/a', margin: undefined };
  const met = direction === 'at least' ? value >= target : value <= target;
  // How far from the target, as a share of it: +20% = beaten by a fifth, -40% = 40% short.
  const margin = direction === 'at least' ? value / target - 1 : target / value - 1;
  return { status: met ? 'met' : 'missed', margin };
}

/** The targets of issue 6, each { target, value, unit, status, margin, detail }. */
export function evaluateTargets(spate, kafka, loopback) {
  const targets = [];
  const kafkaById = byId(kafka?.results);
  const pair = (r) => [r, kafkaById.get(r.id)];

  for (const group of ['produce', 'consume']) {
    for (const [s, k] of spate.results.filter((r) => r.group === group).map(pair)) {
      const label = `${s.name} [${s.client}]`;
      if (!kafka) {
        targets.push({ target: `${group} ≥ ${TARGETS.throughputRatio}× Kafka`, detail: label, value: undefined, status: 'n/a', why: 'no Kafka run' });
        continue;
      }
      if (!s.ok || !k?.ok) {
        targets.push({
          target: `${group} ≥ ${TARGETS.throughputRatio}× Kafka`,
          detail: label,
          status: !s.ok ? 'missed' : 'n/a',
          why: !s.ok ? `Spate failed: ${s.error}` : `Kafka failed: ${k?.error ?? 'not run'}`,
        });
        continue;
      }
      const ratio = s.metrics.mbPerSec / k.metrics.mbPerSec;
      targets.push({ target: `${group} ≥ ${TARGETS.throughputRatio}× Kafka`, detail: label, value: ratio, unit: '×', ...verdict(ratio, TARGETS.throughputRatio, 'at least') });
    }
  }

  for (const [s, k] of spate.results.filter((r) => r.group === 'latency' && r.id !== 'latency/serial').map(pair)) {
    const target = `e2e p99 ≤ 1/3 of Kafka's`;
    if (!kafka || !k) {
      targets.push({ target, detail: s.name, status: 'n/a', why: 'no Kafka run' });
    } else if (!s.ok || !k.ok || !s.metrics.sustained || !k.metrics.sustained) {
      const who = !s.ok || !s.metrics.sustained ? 'Spate' : 'Kafka';
      targets.push({ target, detail: s.name, status: who === 'Spate' ? 'missed' : 'n/a', why: `${who} did not sustain the rate` });
    } else {
      const ratio = s.metrics.p99 / k.metrics.p99;
      targets.push({
        target,
        detail: `${s.name}: Spate ${s.metrics.p99.toFixed(1)} ms, Kafka ${k.metrics.p99.toFixed(1)} ms`,
        value: ratio,
        unit: '×',
        ...verdict(ratio, TARGETS.latencyRatio, 'at most'),
      });
    }
  }

  // Issue 10: replicated throughput at least Kafka's; failover p50 under 2 s and below Kafka's.
  for (const s of spate.results.filter((r) => r.group === 'replicated')) {
    const k = kafkaById.get(s.id);
    const failover = s.id === 'replicated/failover/java';
    const target = failover ? `failover p50 < ${TARGETS.failoverP50Ms} ms and < Kafka's` : `replicated produce ≥ ${TARGETS.replicatedRatio}× Kafka`;
    if (!s.ok) {
      targets.push({ target, detail: s.name, status: 'missed', why: `Spate failed: ${s.error}` });
    } else if (failover) {
      const p50 = s.metrics.p50Ms;
      const kafkaP50 = k?.ok ? k.metrics.p50Ms : undefined;
      const met = p50 < TARGETS.failoverP50Ms && (kafkaP50 === undefined || p50 < kafkaP50);
      targets.push({
        target,
        detail: `Spate ${Math.round(p50)} ms${kafkaP50 !== undefined ? `, Kafka ${Math.round(kafkaP50)} ms` : ''} over ${s.metrics.rounds} rounds`,
        value: p50,
        unit: 'ms',
        status: met ? 'met' : 'missed',
        margin: TARGETS.failoverP50Ms / p50 - 1,
      });
    } else if (!k?.ok) {
      targets.push({ target, detail: s.name, status: 'n/a', why: k ? `Kafka failed: ${k.error}` : 'no Kafka run' });
    } else {
      const ratio = s.metrics.mbPerSec / k.metrics.mbPerSec;
      targets.push({ target, detail: `${s.name} [${s.client}]`, value: ratio, unit: '×', ...verdict(ratio, TARGETS.replicatedRatio, 'at least') });
    }
  }

  const ready = median(spate.startToReadyMs ?? []);
  targets.push({
    target: `start to ready < ${TARGETS.startToReadyMs} ms`,
    detail: `median of ${spate.startToReadyMs?.length ?? 0} starts`,
    value: ready,
    unit: 'ms',
    ...verdict(ready, TARGETS.startToReadyMs, 'at most'),
  });

  const idle = spate.idleRss / MIB;
  targets.push({
    target: `idle RSS < ${TARGETS.idleRssMiB} MiB`,
    detail: 'after start, before any load',
    value: idle,
    unit: 'MiB',
    ...verdict(idle, TARGETS.idleRssMiB, 'at most'),
  });

  const costIds = new Set(spate.results.filter((r) => (r.group === 'produce' || r.group === 'consume') && r.id.includes('/java')).map((r) => r.id));
  if (kafka) {
    // Only workloads that succeeded on both count, so both divide the same work.
    for (const id of [...costIds]) {
      const s = spate.results.find((r) => r.id === id);
      const k = kafkaById.get(id);
      if (!s?.ok || !k?.ok) costIds.delete(id);
    }
  }
  const spateCost = cpuPerGiB(spate, costIds);
  const kafkaCost = kafka ? cpuPerGiB(kafka, costIds) : undefined;
  if (spateCost && kafkaCost) {
    const ratio = spateCost.perGiB / kafkaCost.perGiB;
    targets.push({
      target: `CPU per GiB ≤ ${TARGETS.cpuPerGiBRatio}× Kafka's`,
      detail: `Spate ${spateCost.perGiB.toFixed(2)} s/GiB, Kafka ${kafkaCost.perGiB.toFixed(2)} s/GiB (Java produce + consume)`,
      value: ratio,
      unit: '×',
      ...verdict(ratio, TARGETS.cpuPerGiBRatio, 'at most'),
    });
  } else {
    targets.push({
      target: `CPU per GiB ≤ ${TARGETS.cpuPerGiBRatio}× Kafka's`,
      detail: spateCost ? `Spate ${spateCost.perGiB.toFixed(2)} s/GiB` : '',
      status: 'n/a',
      why: 'no Kafka run',
    });
  }

  // Issue 14: /metrics may cost at most 3% of produce throughput (small requests: the per-request hook at its largest share).
  const metricsCost = spate.results.find((r) => r.id === 'gateway/metrics-cost-small');
  if (metricsCost) {
    const value = metricsCost.metrics.pairedCostPercent?.median;
    targets.push({
      target: `/metrics costs < ${TARGETS.metricsCostPercent}% of produce throughput`,
      detail: metricsCost.ok
        ? `small requests, median of paired rounds (throughput medians: ${metricsCost.metrics.costPercent?.toFixed(1)}%; broker CPU per record: ${metricsCost.metrics.cpuCostPercent?.toFixed(1)}%)`
        : metricsCost.error,
      value,
      unit: '%',
      // A negative cost (faster with the hook, within the noise) is met, with no margin to speak of.
      ...(!metricsCost.ok ? { status: 'missed' } : value <= 0 ? { status: 'met', margin: undefined } : verdict(value, TARGETS.metricsCostPercent, 'at most')),
    });
  }

  // The broker's own ceiling (the bench's generator) when it ran, else the Java producer.
  const ceiling = spate.results.find((r) => r.id === 'produce/ceiling-1k/spate-load');
  const produce = ceiling?.ok ? ceiling : spate.results.find((r) => r.id === 'produce/1k-acks1/java');
  if (loopback?.ok && produce?.ok) {
    const factor = loopback.payloadMbPerSec / produce.metrics.mbPerSec;
    targets.push({
      target: `produce within ${TARGETS.loopbackFactor}× of the loopback limit`,
      detail: `loopback ${loopback.payloadMbPerSec.toFixed(0)} MB/s, Spate ${produce.metrics.mbPerSec.toFixed(1)} MB/s (1 KiB, acks=1, ${produce === ceiling ? 'ceiling, bench load generator' : 'Java'})`,
      value: factor,
      unit: '×',
      ...verdict(factor, TARGETS.loopbackFactor, 'at most'),
    });
  } else {
    const why = !produce ? 'produce not run' : produce.ok ? 'loopback measurement failed' : `Spate produce failed: ${produce.error}`;
    targets.push({ target: `produce within ${TARGETS.loopbackFactor}× of the loopback limit`, status: produce && !produce.ok ? 'missed' : 'n/a', why });
  }
  return { targets, spateCost, kafkaCost, readyMedianMs: ready };
}
