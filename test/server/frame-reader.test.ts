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
