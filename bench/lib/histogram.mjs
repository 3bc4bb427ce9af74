// A log-bucketed latency histogram in the spirit of HdrHistogram: values (microseconds) go
// into buckets whose width grows with the value, so every recorded value is kept to within
// 1% relative error from 1 us to hours, in a few thousand counters. Percentiles report the
// bucket's upper edge (never optimistic); max is exact.

const SUB_BUCKETS = 128; // per power of two: 2^-7 < 1% relative precision

export class LatencyHistogram {
  counts = new Map();
  count = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;
  sum = 0;

  static #index(value) {
    if (value < 1) return 0;
    const exponent = Math.floor(Math.log2(value));
    const sub = Math.floor((value / 2 ** exponent - 1) * SUB_BUCKETS);
    return exponent * SUB_BUCKETS + sub + 1;
  }

  static #upperEdge(index) {
    if (index === 0) return 1;
    const exponent = Math.floor((index - 1) / SUB_BUCKETS);
    const sub = (index - 1) % SUB_BUCKETS;
    return 2 ** exponent * (1 + (sub + 1) / SUB_BUCKETS);
  }

  record(valueMicros) {
    const index = LatencyHistogram.#index(valueMicros);
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.count++;
    this.sum += valueMicros;
    if (valueMicros > this.max) this.max = valueMicros;
    if (valueMicros < this.min) this.min = valueMicros;
  }

  /** The value at or below which `percentile`% of recorded values fall. */
  percentile(percentile) {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil((percentile / 100) * this.count);
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index);
      if (seen >= rank) return Math.min(LatencyHistogram.#upperEdge(index), this.max);
    }
    return this.max;
  }

  /** Summary in milliseconds. */
  summaryMs() {
    const ms = (us) => Math.round(us) / 1000;
    return {
      count: this.count,
      mean: this.count ? ms(this.sum / this.count) : Number.NaN,
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: ms(this.max),
    };
  }
}
