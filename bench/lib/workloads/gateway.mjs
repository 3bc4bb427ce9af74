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
  const dirs = [];
  const brokers = {};
  try {
    for (const variant of variants) {
      const dir = mkdtempSync(join(os.tmpdir(), `spate-bench-metrics-${variant.key}-`));
      dirs.push(dir);
      const broker = spateBroker({ root: ctx.root, workDir: dir, port: await freePort(), httpPort: variant.httpPort });
      await broker.start();
      brokers[variant.key] = broker;
      for (const shape of shapes) await createTopic(broker.bootstrap, `cost-${shape.key}`, shape.key === 'small' ? 1 : 8);
    }
    const results = [];
    for (const shape of shapes) {
      const meta = {
        id: `gateway/metrics-cost-${shape.key}`,
        group: 'gateway',
        name: `/metrics cost on produce throughput, ${shape.key} requests`,
        client: 'bench load generator',
      };
      await measure({ ...ctx, broker: brokers.on }, meta, async () => {
        const runs = { off: [], on: [], scraped: [] };
        const cpu = { off: [], on: [], scraped: [] }; // broker CPU µs per record
        const load = [loadAverage()];
        for (let round = 0; round < rounds; round++) {
          // Rotate the order so no variant always runs first (or right after another).
          const order = variants.map((_, index) => variants[(index + round) % variants.length]);
          for (const variant of order) {
            const broker = brokers[variant.key];
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
            const run = await runProcess(
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
                String(seconds),
                ...shape.args,
              ],
              { cwd: ctx.root, timeoutMs: (seconds + 30) * 1000 },
            );
            scraping = false;
            await scraper;
            const result = resultLine(run.lines);
            if (!result) throw new Error(failureReason(run));
            if (result.errors > 0) throw new Error(result.firstError);
            runs[variant.key].push(result.recordsPerSec);
            cpu[variant.key].push((1e6 * (cpuSeconds(broker.pid) - cpuBefore)) / result.records);
          }
          load.push(loadAverage());
        }
        const off = spread(runs.off);
        const on = spread(runs.on);
        const scraped = spread(runs.scraped);
        const paired = (key) => spread(runs[key].map((value, index) => 100 * (1 - value / runs.off[index])));
        const cpuPerRecord = { off: spread(cpu.off), on: spread(cpu.on), scraped: spread(cpu.scraped) };
        const cpuCost = (key) => 100 * (cpuPerRecord[key].median / cpuPerRecord.off.median - 1);
        const metrics = {
          recordsPerSec: on.median,
          offRecordsPerSec: off.median,
          scrapedRecordsPerSec: scraped.median,
          costPercent: 100 * (1 - on.median / off.median),
          scrapedCostPercent: 100 * (1 - scraped.median / off.median),
          pairedCostPercent: paired('on'),
          pairedScrapedCostPercent: paired('scraped'),
          spread: { off, on, scraped },
          cpuMicrosPerRecord: cpuPerRecord,
          cpuCostPercent: cpuCost('on'),
          scrapedCpuCostPercent: cpuCost('scraped'),
          loadAverage: load,
          rounds,
          seconds,
        };
        results.push({ shape, metrics });
        return {
          metrics,
          note:
            `${shape.label}; median of ${rounds} interleaved ${seconds} s rounds: off ${Math.round(off.median).toLocaleString('en-US')} rec/s (${Math.round(off.min).toLocaleString('en-US')}-${Math.round(off.max).toLocaleString('en-US')}), ` +
            `on ${Math.round(on.median).toLocaleString('en-US')} (${Math.round(on.min).toLocaleString('en-US')}-${Math.round(on.max).toLocaleString('en-US')}), ` +
            `scraped ${Math.round(scraped.median).toLocaleString('en-US')} (${Math.round(scraped.min).toLocaleString('en-US')}-${Math.round(scraped.max).toLocaleString('en-US')}); ` +
            `cost ${metrics.costPercent.toFixed(1)}% (paired rounds: median ${metrics.pairedCostPercent.median.toFixed(1)}%, ${metrics.pairedCostPercent.min.toFixed(1)} to ${metrics.pairedCostPercent.max.toFixed(1)}), ` +
            `scraped ${metrics.scrapedCostPercent.toFixed(1)}% (paired median ${metrics.pairedScrapedCostPercent.median.toFixed(1)}%); ` +
            `broker CPU per record off ${cpuPerRecord.off.median.toFixed(2)} µs, on ${cpuPerRecord.on.median.toFixed(2)} (${metrics.cpuCostPercent.toFixed(1)}%), scraped ${cpuPerRecord.scraped.median.toFixed(2)} (${metrics.scrapedCpuCostPercent.toFixed(1)}%); ` +
            `load average ${load[0].join(' ')} before, ${load.at(-1).join(' ')} after`,
        };
      });
    }
    return results;
  } finally {
    for (const broker of Object.values(brokers)) await broker.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
