// Live figures from /metrics (Prometheus text): records and bytes per second from the topic
// counters, and request latency percentiles from the request time histograms, each as the
// change between two scrapes.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: Sample[], name: string): number {
  return samples.filter((sample) => sample.name === name).reduce((total, sample) => total + sample.value, 0);
}

/** Cumulative buckets (le in seconds) of one histogram series. */
function buckets(samples: Sample[], name: string, api: string): Array<[number, number]> {
  return samples
    .filter((sample) => sample.name === `${name}_bucket` && sample.labels['api'] === api)
    .map((sample): [number, number] => [sample.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels['le']), sample.value])
    .sort((a, b) => a[0] - b[0]);
}

/** The upper bound (ms) of the bucket holding the quantile of what was observed between two scrapes. */
function quantileMs(before: Array<[number, number]>, after: Array<[number, number]>, quantile: number): number | null {
  const counts = after.map(([le, count], index) => [le, count - (before[index]?.[1] ?? 0)] as [number, number]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const found = counts.find(([, count]) => count >= quantile * total);
  if (found === undefined) return null;
  // Above the last finite bucket: report that bound rather than infinity.
  const bound = Number.isFinite(found[0]) ? found[0] : (counts.at(-2)?.[0] ?? 0);
  return bound * 1000;
}

export interface Rates {
  readonly at: number;
  readonly messagesIn: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly produceP50: number | null;
  readonly produceP99: number | null;
  readonly fetchLocalP99: number | null;
}

export interface Snapshot {
  readonly at: number;
  readonly samples: Sample[];
}

export function rates(before: Snapshot, after: Snapshot): Rates {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const rate = (name: string) => Math.max(0, (sum(after.samples, name) - sum(before.samples, name)) / seconds);
  const total = 'spate_request_total_time_seconds';
  const local = 'spate_request_local_time_seconds';
  return {
    at: after.at,
    messagesIn: rate('spate_topic_messages_in_total'),
    bytesIn: rate('spate_topic_bytes_in_total'),
    bytesOut: rate('spate_topic_bytes_out_total'),
    produceP50: quantileMs(buckets(before.samples, total, 'Produce'), buckets(after.samples, total, 'Produce'), 0.5),
    produceP99: quantileMs(buckets(before.samples, total, 'Produce'), buckets(after.samples, total, 'Produce'), 0.99),
    fetchLocalP99: quantileMs(buckets(before.samples, local, 'Fetch'), buckets(after.samples, local, 'Fetch'), 0.99),
  };
}

/** A single gauge's value (0 when absent). */
export function gauge(samples: Sample[], name: string): number {
  return sum(samples, name);
}
