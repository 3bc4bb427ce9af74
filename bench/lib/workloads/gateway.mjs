// The HTTP / WebSocket gateway next to the binary protocol, on Spate only (Kafka has no
// gateway of its own), each client in a child process on the clients' cores:
//   REST produce, one record a request (acks=all inside the broker), vs kafkajs send() of one
//   record with acks=all, both 32 in flight: records/s and p99;
//   REST streamed produce (500 records per request body);
//   fan-out to 100 WebSocket subscribers of one topic from its end while kafkajs produces at a
//   fixed rate, vs 100 Fetch long-poll consumers: delivered records/s and p99 (receipt minus
//   the record's timestamp);
//   and the cost of /metrics on produce throughput: the bench's generator against brokers with
//   HTTP (and so the metrics hook) off, on, and on while /metrics is scraped every second;
//   interleaved rounds, each broker pinned to the broker core.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic } from '../admin.mjs';
import { spateBroker } from '../brokers/spate.mjs';
import { freePort } from '../ports.mjs';
import { cpuSeconds } from '../proc-stats.mjs';
import { failureReason, intervalSeries, resultLine, runProcess } from '../run-process.mjs';
import { measure } from './measure.mjs';

export const GATEWAY_SUBSCRIBERS = 100;

async function client(ctx, mode, args, seconds) {
  const run = await runProcess(process.execPath, [join(ctx.root, 'bench', 'clients', 'gateway-load.mjs'), mode, ...args, '--seconds', String(seconds)], {
    cwd: ctx.root,
    timeoutMs: (seconds + 60) * 1000,
  });
  const result = resultLine(run.lines);
  if (!result) throw new Error(failureReason(run));
  if (result.errors > 0) throw new Error(result.firstError);
  return { result, series: intervalSeries(run.lines), cpuSeconds: run.cpuSeconds };
}

async function clusterId(url) {
  const clusters = await (await fetch(`${url}/v3/clusters`)).json();
  return clusters.data[0].cluster_id;
}

function latencyMetrics(result) {
  const l = result.latencyMs;
  return { recordsPerSec: result.recordsPerSec, mbPerSec: result.mbPerSec, p50: l.p50, p99: l.p99, p999: l.p999, max: l.max, records: result.records };
}

/** REST produce (single and streamed) and kafkajs produce, same record size and concurrency. */
export async function gatewayProduce(ctx, seconds) {
  const url = ctx.broker.httpUrl;
  const id = await clusterId(url);
  await createTopic(ctx.broker.bootstrap, 'gateway-produce', 8);
  const cases = [
    {
      id: 'gateway/rest-produce',
      name: 'REST produce, 1 record per POST, 32 in flight, 100 B',
      client: 'Node http (keep-alive)',
      run: () => client(ctx, 'rest-produce', ['--url', url, '--cluster', id, '--topic', 'gateway-produce', '--concurrency', '32'], seconds),
    },
    {
      id: 'gateway/kafkajs-produce',
      name: 'Binary produce, 1 record per send(), 32 in flight, 100 B',
      client: 'kafkajs 2.2.4 (acks=all)',
      run: () => client(ctx, 'kafkajs-produce', ['--bootstrap', ctx.broker.bootstrap, '--topic', 'gateway-produce', '--concurrency', '32'], seconds),
    },
    {
      id: 'gateway/rest-stream',
      name: 'REST produce, 500 records per streamed POST, 4 in flight, 100 B',
      client: 'Node http (keep-alive)',
      run: () => client(ctx, 'rest-stream', ['--url', url, '--cluster', id, '--topic', 'gateway-produce', '--concurrency', '4', '--records-per-request', '500'], seconds),
    },
  ];
  for (const c of cases) {
    await measure(ctx, { id: c.id, group: 'gateway', name: c.name, client: c.client }, async () => {
      const { result, series, cpuSeconds } = await c.run();
      return {
        metrics: latencyMetrics(result),
        bytes: result.records * 100,
        series,
        clientCpuSeconds: cpuSeconds,
        note: c.id === 'gateway/rest-stream' ? 'p50/p99 per streamed request of 500 records' : undefined,
      };
    });
  }
}

/** Fan-out to GATEWAY_SUBSCRIBERS WebSocket subscribers, and to as many Fetch long polls. */
export async function gatewayFanout(ctx, seconds, rate) {
  const url = ctx.broker.httpUrl;
  const cases = [
    { id: 'gateway/ws-fanout', mode: 'ws-fanout', name: `Fan-out to ${GATEWAY_SUBSCRIBERS} WebSocket subscribers, ${rate} records/s in`, client: 'ws 8 (Node)' },
    {
      id: 'gateway/wire-fanout',
      mode: 'wire-fanout',
      name: `Fan-out to ${GATEWAY_SUBSCRIBERS} Fetch long polls (binary), ${rate} records/s in`,
      client: 'bench wire client (Fetch v4)',
    },
  ];
  for (const c of cases) {
    const topic = `gateway-${c.mode}`;
    await createTopic(ctx.broker.bootstrap, topic, 1);
    await measure(ctx, { id: c.id, group: 'gateway', name: c.name, client: c.client }, async () => {
      const args = ['--bootstrap', ctx.broker.bootstrap, '--topic', topic, '--subscribers', String(GATEWAY_SUBSCRIBERS), '--rate', String(rate)];
      const { result, series, cpuSeconds } = await client(ctx, c.mode, c.mode === 'ws-fanout' ? ['--url', url, ...args] : args, seconds);
      const delivered = result.expected > 0 ? result.records / result.expected : 0;
      return {
        metrics: { ...latencyMetrics(result), delivered },
        bytes: result.records * 100,
        series,
        clientCpuSeconds: cpuSeconds,
        note: `${(delivered * 100).toFixed(1)}% of ${result.expected.toLocaleString('en-US')} deliveries arrived; latency = receipt - record timestamp (ms clock); producer kafkajs, acks=1, every 10 ms`,
      };
    });
  }
}

function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1), runs: values };
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/**
 * The cost of /metrics on produce throughput: three brokers (HTTP off, on, on + scraped every
 * second), the bench generator against each in turn, `rounds` rounds in rotating order, for
 * two request shapes. The cost is 1 - on/off of the medians, and the median of the paired
 * per-round differences.
 */
export async function metricsCost(ctx, { rounds, seconds }) {
  const variants = [
    { key: 'off', label: 'HTTP off (no metrics hook)', httpPort: null },
    // HTTP on (uWebSockets.js in the event loop), the request hook off: what the listener costs by itself.
    {
      key: 'hookOff',
      label: 'HTTP on, request hook off (spate.metrics.request.hook.enable=false)',
      httpPort: await freePort(),
      overrides: { 'spate.metrics.request.hook.enable': false },
    },
    { key: 'on', label: 'HTTP on, not scraped', httpPort: await freePort() },
    { key: 'scraped', label: 'HTTP on, /metrics scraped every second', httpPort: await freePort() },
  ];
  const shapes = [
    {
      key: 'small',
      label: 'small requests: 1 partition, 10 x 100 B records per request, 4 connections x 16 in flight',
      args: ['--partitions', '1', '--record-size', '100', '--batch-bytes', '1000', '--connections', '4', '--inflight', '16'],
    },
    {
      key: 'large',
      label: 'large requests: 8 partitions x 128 KiB of 1 KiB records, 4 connections x 4 in flight',
      args: ['--partitions', '8', '--record-size', '1024', '--connections', '4', '--inflight', '4'],
    },
  ];
  // A fresh broker for every variant in every round (instance to instance, JIT and memory
  // layout move a broker's CPU per record by several per cent), both shapes on it, each
  // after a one-second warm-up; the variants in rotating order.
  const runs = Object.fromEntries(shapes.map((shape) => [shape.key, { off: [], hookOff: [], on: [], scraped: [] }]));
  const cpu = Object.fromEntries(shapes.map((shape) => [shape.key, { off: [], hookOff: [], on: [], scraped: [] }])); // broker CPU µs per record
  const load = [loadAverage()];
  const generate = (broker, shape, secondsToRun) =>
    runProcess(
      process.execPath,
      [
        join(ctx.root, 'bench', 'load', 'generator.mjs'),
        'produce',
        '--bootstrap',
        broker.bootstrap,
        '--topic',
        `cost-${shape.key}`,
        '--acks',
        '1',
        '--seconds',
        String(secondsToRun),
        ...shape.args,
      ],
      { cwd: ctx.root, timeoutMs: (secondsToRun + 30) * 1000 },
    );
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, index) => variants[(index + round) % variants.length]);
    for (const variant of order) {
      ctx.progress.step(`spate: /metrics cost, round ${round + 1} of ${rounds}, ${variant.label}`);
      const dir = mkdtempSync(join(os.tmpdir(), `spate-bench-metrics-${variant.key}-`));
      const broker = spateBroker({ root: ctx.root, workDir: dir, port: await freePort(), httpPort: variant.httpPort, overrides: variant.overrides });
      try {
        await broker.start();
        for (const shape of shapes) {
          await createTopic(broker.bootstrap, `cost-${shape.key}`, shape.key === 'small' ? 1 : 8);
          await generate(broker, shape, 1);
          let scraping = true;
          const scraper =
            variant.key === 'scraped'
              ? (async () => {
                  while (scraping) {
                    await fetch(`http://127.0.0.1:${variant.httpPort}/metrics`).then((response) => response.text());
                    await sleep(1000);
                  }
                })()
              : undefined;
          const cpuBefore = cpuSeconds(broker.pid);
          const run = await generate(broker, shape, seconds);
          const cpuAfter = cpuSeconds(broker.pid);
          scraping = false;
          await scraper;
          const result = resultLine(run.lines);
          if (!result) throw new Error(failureReason(run));
          if (result.errors > 0) throw new Error(result.firstError);
          runs[shape.key][variant.key].push(result.recordsPerSec);
          cpu[shape.key][variant.key].push((1e6 * (cpuAfter - cpuBefore)) / result.records);
        }
      } finally {
        await broker.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    load.push(loadAverage());
  }
  const results = [];
  for (const shape of shapes) {
    const meta = { id: `gateway/metrics-cost-${shape.key}`, group: 'gateway', name: `/metrics cost on produce throughput, ${shape.key} requests`, client: 'bench load generator' };
    const shapeRuns = runs[shape.key];
    const shapeCpu = cpu[shape.key];
    const off = spread(shapeRuns.off);
    const hookOff = spread(shapeRuns.hookOff);
    const on = spread(shapeRuns.on);
    const scraped = spread(shapeRuns.scraped);
    // Against HTTP off (the whole cost of /metrics), and the hook alone against HTTP on without it; per round, then the median.
    const paired = (key, base = 'off') => spread(shapeRuns[key].map((value, index) => 100 * (1 - value / shapeRuns[base][index])));
    const pairedCpu = (key, base = 'off') => spread(shapeCpu[key].map((value, index) => 100 * (value / shapeCpu[base][index] - 1)));
    const cpuPerRecord = { off: spread(shapeCpu.off), hookOff: spread(shapeCpu.hookOff), on: spread(shapeCpu.on), scraped: spread(shapeCpu.scraped) };
    const metrics = {
      recordsPerSec: on.median,
      offRecordsPerSec: off.median,
      scrapedRecordsPerSec: scraped.median,
      costPercent: 100 * (1 - on.median / off.median),
      scrapedCostPercent: 100 * (1 - scraped.median / off.median),
      pairedCostPercent: paired('on'),
      pairedScrapedCostPercent: paired('scraped'),
      hookPairedCostPercent: paired('on', 'hookOff'),
      spread: { off, hookOff, on, scraped },
      cpuMicrosPerRecord: cpuPerRecord,
      cpuCostPercent: pairedCpu('on').median,
      scrapedCpuCostPercent: pairedCpu('scraped').median,
      listenerCpuCostPercent: pairedCpu('hookOff').median,
      hookCpuCostPercent: pairedCpu('on', 'hookOff').median,
      pairedCpuCostPercent: { on: pairedCpu('on'), scraped: pairedCpu('scraped'), listener: pairedCpu('hookOff'), hook: pairedCpu('on', 'hookOff') },
      loadAverage: load,
      rounds,
      seconds,
    };
    const number = (value) => Math.round(value).toLocaleString('en-US');
    const range = (s) => `${number(s.min)}-${number(s.max)}`;
    const percent = (s) => `median ${s.median.toFixed(1)}%, ${s.min.toFixed(1)} to ${s.max.toFixed(1)}`;
    results.push({ shape, metrics });
    await measure(ctx, meta, async () => ({
      metrics,
      note:
        `${shape.label}; ${rounds} rounds of ${seconds} s, a fresh broker per variant and round: records/s off ${number(off.median)} (${range(off)}), HTTP on with the hook off ${number(hookOff.median)} (${range(hookOff)}), ` +
        `on ${number(on.median)} (${range(on)}), scraped ${number(scraped.median)} (${range(scraped)}); throughput cost of the whole of /metrics per round ${percent(metrics.pairedCostPercent)}, ` +
        `of the hook alone ${percent(metrics.hookPairedCostPercent)}; broker CPU per record off ${cpuPerRecord.off.median.toFixed(2)} µs, on ${cpuPerRecord.on.median.toFixed(2)} µs, ` +
        `per round: the whole ${percent(metrics.pairedCpuCostPercent.on)}, the listener ${percent(metrics.pairedCpuCostPercent.listener)}, the hook ${percent(metrics.pairedCpuCostPercent.hook)}, scraped ${percent(metrics.pairedCpuCostPercent.scraped)}; ` +
        `load average ${load[0].join(' ')} before, ${load.at(-1).join(' ')} after`,
    }));
  }
  return results;
}
