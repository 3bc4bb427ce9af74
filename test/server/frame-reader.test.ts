// Frame assembly: frames split at every byte position, many frames per chunk, size limits.

import t from 'tap';
import { FrameReader } from '../../src/server/frame-reader.js';

const frame = (payload: Buffer) => {
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
};

t.test('frames split at every position come out whole', async (t) => {
  const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('a much longer third frame payload'), Buffer.from([1, 2, 3])];
  const stream = Buffer.concat(payloads.map(frame));
  for (let split = 0; split <= stream.length; split++) {
    const reader = new FrameReader(1024);
    const out = [...reader.push(stream.subarray(0, split)), ...reader.push(stream.subarray(split))];
    t.same(out, payloads, `split at ${split}`);
    t.equal(reader.bufferedBytes, 0);
  }
  const reader = new FrameReader(1024);
  const out: Buffer[] = [];
  for (const byte of stream) out.push(...reader.push(Buffer.from([byte])));
  t.same(out, payloads, 'one byte at a time');
});

t.test('a frame inside one chunk is a view, not a copy', async (t) => {
  const chunk = frame(Buffer.from('zero-copy'));
  const [out] = new FrameReader(1024).push(chunk);
  t.equal(out!.buffer, chunk.buffer);
});

t.test('sizes outside 0..max are refused', async (t) => {
  t.throws(() => new FrameReader(10).push(frame(Buffer.alloc(11))), { name: 'FrameTooLargeError', message: /Frame size 11/ });
  const negative = Buffer.alloc(4);
  negative.writeInt32BE(-5, 0);
  t.throws(() => new FrameReader(10).push(negative), { name: 'FrameTooLargeError', message: /Frame size -5/ });
});

/** Feeds `stream` to a reader in its own-buffer mode, each read taking at most `readSize` bytes. */
function readThrough(reader: FrameReader, stream: Buffer, readSize: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const target = reader.readBuffer();
    const n = Math.min(readSize, target.length, stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    out.push(...reader.received(n));
  }
  return out;
}

t.test('own buffers: frames of every size come out whole, whatever the read sizes', async (t) => {
  const sizes = [0, 1, 5, 100, 4000, 9000, 16 * 1024 - 1, 16 * 1024, 60 * 1024, 64 * 1024, 200 * 1024, 1024 * 1024, 3, 70 * 1024];
  const payloads = sizes.map((size, i) => Buffer.alloc(size, i + 1));
  for (let i = 0; i < payloads.length; i++) if (payloads[i]!.length > 8) payloads[i]!.writeUInt32BE(i * 7919, 4);
  const stream = Buffer.concat(payloads.map(frame));
  for (const readSize of [1, 7, 4096, 65536, 100_000, 1 << 22]) {
    const reader = new FrameReader(2 * 1024 * 1024);
    const out = readThrough(reader, stream, readSize);
    t.equal(out.length, payloads.length, `reads of ${readSize}: every frame`);
    t.ok(
      out.every((frame, i) => frame.equals(payloads[i]!)),
      `reads of ${readSize}: every byte`,
    );
    t.equal(reader.bufferedBytes, 0);
  }
});

t.test('own buffers: a large frame is read straight into a buffer of its own', async (t) => {
  const reader = new FrameReader(4 * 1024 * 1024);
  const payload = Buffer.alloc(1024 * 1024, 7);
  const stream = frame(payload);
  const first = reader.readBuffer();
  stream.copy(first, 0, 0, 1000);
  t.same(reader.received(1000), []);
  t.equal(reader.bufferedBytes, 1000);
  const rest = reader.readBuffer();
  t.equal(rest.length, payload.length - 996, 'the next read may take the whole rest of the frame');
  stream.copy(rest, 0, 1000);
  const [out] = reader.received(stream.length - 1000);
  t.equal(out!.buffer, rest.buffer, 'the frame is the buffer the rest was read into');
  t.ok(out!.equals(payload));
  t.equal(reader.bufferedBytes, 0);
});

t.test('own buffers: small frames in one read are views of the slab', async (t) => {
  const reader = new FrameReader(1024);
  const target = reader.readBuffer();
  const stream = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]);
  stream.copy(target);
  const frames = reader.received(stream.length);
  t.same(frames, [Buffer.from('one'), Buffer.from('two')]);
  t.equal(frames[0]!.buffer, target.buffer);
  t.same(reader.received(0), [], 'an empty read completes nothing');
});

t.test('own buffers: sizes outside 0..max are refused', async (t) => {
  const reader = new FrameReader(10);
  frame(Buffer.alloc(11)).copy(reader.readBuffer());
  t.throws(() => reader.received(15), { name: 'FrameTooLargeError', message: /Frame size 11/ });
});
