// What a PushTelemetry request carries (KIP-714): OpenTelemetry MetricsData v1 in protobuf.
// Only what the broker shows is read: each metric's name and its number data points (gauge
// and sum: value, attributes, time); histograms and summaries are counted, not kept. The
// resource attributes (client_id, client_software_name, ...) come along. Unknown fields are
// skipped by wire type, as protobuf requires; a malformed message throws OtlpDecodeError.

export class OtlpDecodeError extends Error {}

export interface MetricPoint {
  readonly name: string;
  readonly kind: 'gauge' | 'sum';
  readonly value: number;
  /** The data point's attributes (node_id, topic, ...) in their order. */
  readonly attributes: ReadonlyArray<readonly [string, string]>;
  readonly timeUnixNano: bigint;
}

export interface DecodedMetrics {
  readonly resource: ReadonlyArray<readonly [string, string]>;
  readonly points: MetricPoint[];
  /** Metrics of other kinds (histograms, summaries): not shown. */
  readonly skipped: number;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

/** A protobuf message being read: fields one at a time. */
class ProtoReader {
  private position: number;

  constructor(
    private readonly bytes: Buffer,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Number(key >> 3n), wire: Number(key & 7n) };
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.position >= this.end) throw new OtlpDecodeError('varint runs past the message');
      const byte = this.bytes[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new OtlpDecodeError('varint longer than 10 bytes');
  }

  fixed64(): Buffer {
    return this.take(8);
  }

  /** A length-delimited field's bytes, as a reader of its own. */
  message(): ProtoReader {
    const length = Number(this.varint());
    const start = this.position;
    this.take(length);
    return new ProtoReader(this.bytes, start, start + length);
  }

  string(): string {
    const length = Number(this.varint());
    return this.take(length).toString('utf8');
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.take(8);
    else if (wire === LENGTH) this.take(Number(this.varint()));
    else if (wire === FIXED32) this.take(4);
    else throw new OtlpDecodeError(`unsupported wire type ${wire}`);
  }

  private take(length: number): Buffer {
    if (length < 0 || this.position + length > this.end) throw new OtlpDecodeError('field runs past the message');
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }
}

/** OpenTelemetry AnyValue, shown as text. */
function anyValue(reader: ProtoReader): string {
  let text = '';
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LENGTH) text = reader.string();
    else if (field === 2 && wire === VARINT) text = reader.varint() !== 0n ? 'true' : 'false';
    else if (field === 3 && wire === VARINT) text = String(BigInt.asIntN(64, reader.varint()));
    else if (field === 4 && wire === FIXED64) text = String(reader.fixed64().readDoubleLE(0));
    else reader.skip(wire);
  }
  return text;
}

function keyValue(reader: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LENGTH) key = reader.string();
    else if (field === 2 && wire === LENGTH) value = anyValue(reader.message());
    else reader.skip(wire);
  }
  return [key, value];
}

function dataPoint(reader: ProtoReader, name: string, kind: MetricPoint['kind']): MetricPoint {
  let value = 0;
  let timeUnixNano = 0n;
  const attributes: Array<[string, string]> = [];
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 3 && wire === FIXED64) timeUnixNano = reader.fixed64().readBigUInt64LE(0);
    else if (field === 4 && wire === FIXED64) value = reader.fixed64().readDoubleLE(0);
    else if (field === 6 && wire === FIXED64) value = Number(reader.fixed64().readBigInt64LE(0));
    else if (field === 7 && wire === LENGTH) attributes.push(keyValue(reader.message()));
    else reader.skip(wire);
  }
  return { name, kind, value, attributes, timeUnixNano };
}

/** Gauge and Sum both hold their data points in field 1. */
function numberPoints(reader: ProtoReader, name: string, kind: MetricPoint['kind'], into: MetricPoint[]): void {
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LENGTH) into.push(dataPoint(reader.message(), name, kind));
    else reader.skip(wire);
  }
}

function metric(reader: ProtoReader, into: MetricPoint[]): boolean {
  let name = '';
  const bodies: Array<{ kind: MetricPoint['kind']; body: ProtoReader }> = [];
  let other = false;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LENGTH) name = reader.string();
    else if (field === 5 && wire === LENGTH) bodies.push({ kind: 'gauge', body: reader.message() });
    else if (field === 7 && wire === LENGTH) bodies.push({ kind: 'sum', body: reader.message() });
    else if ((field === 9 || field === 10 || field === 11) && wire === LENGTH) {
      reader.skip(wire);
      other = true;
    } else reader.skip(wire);
  }
  for (const { kind, body } of bodies) numberPoints(body, name, kind, into);
  return !other;
}

/** Decodes a MetricsData message (the uncompressed PushTelemetry payload). */
export function decodeMetricsData(bytes: Buffer): DecodedMetrics {
  const points: MetricPoint[] = [];
  const resource: Array<[string, string]> = [];
  let skipped = 0;
  const data = new ProtoReader(bytes);
  while (!data.done) {
    const { field, wire } = data.tag();
    if (field !== 1 || wire !== LENGTH) {
      data.skip(wire);
      continue;
    }
    const resourceMetrics = data.message();
    while (!resourceMetrics.done) {
      const entry = resourceMetrics.tag();
      if (entry.field === 1 && entry.wire === LENGTH) {
        const attributes = resourceMetrics.message();
        while (!attributes.done) {
          const attribute = attributes.tag();
          if (attribute.field === 1 && attribute.wire === LENGTH) resource.push(keyValue(attributes.message()));
          else attributes.skip(attribute.wire);
        }
      } else if (entry.field === 2 && entry.wire === LENGTH) {
        const scopeMetrics = resourceMetrics.message();
        while (!scopeMetrics.done) {
          const scoped = scopeMetrics.tag();
          if (scoped.field === 2 && scoped.wire === LENGTH) {
            if (!metric(scopeMetrics.message(), points)) skipped++;
          } else scopeMetrics.skip(scoped.wire);
        }
      } else resourceMetrics.skip(entry.wire);
    }
  }
  return { resource, points, skipped };
}
