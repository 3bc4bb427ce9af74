// Kafka's own load generators (kafka-tools 4.3.1: ProducerPerformance, ConsumerPerformance,
// EndToEndLatency), run from the classpath the interop tests resolve into
// test/interop/java/lib, plus the bench's SpateBench.java compiled against the same jars.
// Each parser reads the figures the tool prints.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from './run-process.mjs';

export const TOOL = {
  producerPerformance: 'org.apache.kafka.tools.ProducerPerformance',
  consumerPerformance: 'org.apache.kafka.tools.ConsumerPerformance',
  endToEndLatency: 'org.apache.kafka.tools.EndToEndLatency',
  topicCommand: 'org.apache.kafka.tools.TopicCommand',
  verifiableProducer: 'org.apache.kafka.tools.VerifiableProducer',
  spateBench: 'SpateBench',
};

export class JavaTools {
  constructor(root, note = () => {}) {
    this.root = root;
    this.lib = join(root, 'test', 'interop', 'java', 'lib');
    if (!existsSync(this.lib) || !readdirSync(this.lib).some((f) => f.startsWith('kafka-tools-'))) {
      note('resolving Kafka tools into test/interop/java/lib (mvn dependency:copy-dependencies)');
      execFileSync('mvn', ['-q', '-B', '-f', join(root, 'test', 'interop', 'java', 'pom.xml'), 'dependency:copy-dependencies'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    this.classes = join(root, 'bench', 'java', 'classes');
    const source = join(root, 'bench', 'java', 'SpateBench.java');
    const compiled = join(this.classes, 'SpateBench.class');
    if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
      note('compiling bench/java/SpateBench.java');
      mkdirSync(this.classes, { recursive: true });
      execFileSync('javac', ['-cp', `${this.lib}/*`, '-d', this.classes, source], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  }

  run(mainClass, args, { timeoutMs, onLine } = {}) {
    return runProcess('java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${this.classes}:${this.lib}/*`, mainClass, ...args], { cwd: this.root, timeoutMs, onLine });
  }
}

const PRODUCER_LINE =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th)?/;

/**
 * ProducerPerformance: the interval lines (one a --reporting-interval) and the final
 * summary, which is the only line with percentiles. If the run was cut short, the summary
 * is rebuilt from the interval lines.
 */
export function parseProducerPerformance(lines) {
  const series = [];
  let summary;
  let elapsed = 0;
  for (const { text } of lines) {
    const match = PRODUCER_LINE.exec(text);
    if (!match) continue;
    const figures = {
      records: Number(match[1]),
      recordsPerSec: Number(match[2]),
      mbPerSec: Number(match[3]),
      avgLatencyMs: Number(match[4]),
      maxLatencyMs: Number(match[5]),
    };
    if (match[6] !== undefined) {
      summary = { ...figures, p50Ms: Number(match[6]), p95Ms: Number(match[7]), p99Ms: Number(match[8]), p999Ms: Number(match[9]) };
    } else {
      const seconds = figures.recordsPerSec > 0 ? figures.records / figures.recordsPerSec : 1;
      elapsed += seconds;
      series.push({ t: elapsed, mbPerSec: figures.mbPerSec, recordsPerSec: figures.recordsPerSec, records: figures.records });
    }
  }
  if (!summary && series.length > 0) {
    // Cut short: the figures over the intervals that were reported.
    const records = series.reduce((sum, s) => sum + s.records, 0);
    const megabytes = series.reduce((sum, s) => sum + (s.mbPerSec * s.records) / Math.max(1, s.recordsPerSec), 0);
    summary = { records, recordsPerSec: records / elapsed, mbPerSec: megabytes / elapsed, partial: true };
  }
  return { summary, series };
}

/**
 * ConsumerPerformance prints a CSV header and one data line:
 * start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 * rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
 */
export function parseConsumerPerformance(lines) {
  for (const { text } of lines) {
    const fields = text.split(',').map((f) => f.trim());
    if (fields.length >= 10 && /^\d{4}-\d\d-\d\d/.test(fields[0])) {
      return {
        mb: Number(fields[2]),
        mbPerSec: Number(fields[3]),
        records: Number(fields[4]),
        recordsPerSec: Number(fields[5]),
        rebalanceMs: Number(fields[6]),
        fetchMs: Number(fields[7]),
        fetchMbPerSec: Number(fields[8]),
        fetchRecordsPerSec: Number(fields[9]),
      };
    }
  }
  return undefined;
}

/** EndToEndLatency: "Avg latency: 2.5127 ms" and "Percentiles: 50th = 1, 99th = 17, 99.9th = 65". */
export function parseEndToEndLatency(lines) {
  let mean;
  let percentiles;
  for (const { text } of lines) {
    const avg = /^Avg latency: ([\d.]+) ms/.exec(text);
    if (avg) mean = Number(avg[1]);
    const p = /^Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(text);
    if (p) percentiles = { p50: Number(p[1]), p99: Number(p[2]), p999: Number(p[3]) };
  }
  return percentiles ? { mean, ...percentiles } : undefined;
}
