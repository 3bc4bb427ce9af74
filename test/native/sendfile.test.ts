import { once } from 'node:events';
import net from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { LogError, sendFile, sendFileNow, socketFd } from '../../src/log/native.js';
import { simpleRecords } from './fixtures/batch-builder.js';
import { appendBatch, appendMany, openLog, tempDir } from './fixtures/helpers.js';

/** A connected pair over 127.0.0.1: `sender` is the server side, `receiver` the client. */
async function socketPair(t: Test, allowHalfOpen = false) {
  const server = net.createServer({ allowHalfOpen });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const receiver = net.connect(port, '127.0.0.1');
  const [sender] = (await accepted) as [net.Socket];
  t.teardown(() => {
    receiver.destroy();
    sender.destroy();
    server.close();
  });
  const chunks: Buffer[] = [];
  let received = 0;
  receiver.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
  });
  const waitFor = async (bytes: number) => {
    while (received < bytes) await new Promise((resolve) => setTimeout(resolve, 5));
    return Buffer.concat(chunks);
  };
  return { sender, receiver, waitFor };
}

t.test('sendfile delivery sends the same bytes as the mmap buffer', async (t) => {
  const log = openLog(t, tempDir(t), { segmentBytes: 16384, indexIntervalBytes: 512 });
  appendMany(log, 150);
  const { sender, waitFor } = await socketPair(t);
  const fd = socketFd(sender);
  const expected: Buffer[] = [];
  let total = 0;
  for (const offset of [0n, 3n, 17n, 100n, 200n, log.logEndOffset - 1n]) {
    for (const maxBytes of [1, 5000, 1 << 20]) {
      const viaSendfile = (await log.read(offset, maxBytes, true, 'sendfile'))!;
      const viaMmap = (await log.read(offset, maxBytes, true, 'mmap'))!;
      t.equal(viaSendfile.buffer, undefined);
      t.equal(viaSendfile.length, viaMmap.length);
      t.equal(await sendFile(fd, viaSendfile), viaSendfile.length);
      expected.push(Buffer.from(viaMmap.buffer!));
      total += viaMmap.length;
      viaSendfile.release();
      viaMmap.release();
    }
  }
  t.ok((await waitFor(total)).equals(Buffer.concat(expected)));
});

t.test('a slow reader makes sendfile wait for POLLOUT, not fail', async (t) => {
  const log = openLog(t, tempDir(t), { segmentBytes: 8 << 20 });
  for (let i = 0; i < 48; i++) appendBatch(log, simpleRecords(16, 4096, i));
  const slice = (await log.read(0n, 8 << 20, true, 'mmap'))!;
  t.ok(slice.length > 3 << 20, `a ${slice.length}-byte slice`);
  const { sender, receiver, waitFor } = await socketPair(t);
  receiver.pause();
  const sending = sendFile(socketFd(sender), slice);
  await new Promise((resolve) => setTimeout(resolve, 100));
  receiver.resume();
  t.equal(await sending, slice.length);
  t.ok((await waitFor(slice.length)).equals(slice.buffer!));
});

t.test('a closed peer rejects with a socket error code', async (t) => {
  const log = openLog(t, tempDir(t), { segmentBytes: 8 << 20 });
  for (let i = 0; i < 48; i++) appendBatch(log, simpleRecords(16, 4096, i));
  const slice = (await log.read(0n, 8 << 20, true, 'sendfile'))!;
  // Half-open: Node must not close the sender's fd when the peer goes away.
  const { sender, receiver } = await socketPair(t, true);
  const fd = socketFd(sender);
  receiver.destroy();
  await new Promise((resolve) => setTimeout(resolve, 20));
  let error: unknown;
  for (let attempt = 0; attempt < 5 && error === undefined; attempt++) {
    error = await sendFile(fd, slice, 2000).then(
      () => undefined,
      (e: unknown) => e,
    );
  }
  t.type(error, LogError);
  t.match((error as LogError).code, /^(EPIPE|ECONNRESET)$/);
  t.type((error as LogError).bytesSent, 'number');
  slice.release();
  await t.rejects(sendFile(fd, slice), { code: 'SLICE_RELEASED' });
});

t.test("sendFileNow sends what the socket takes without waiting; the rest is the caller's", async (t) => {
  const log = openLog(t, tempDir(t), { segmentBytes: 16 << 20 });
  for (let i = 0; i < 128; i++) appendBatch(log, simpleRecords(16, 4096, i));
  const slice = (await log.read(0n, 16 << 20, true, 'mmap'))!;
  t.ok(slice.length > 8 << 20, `a ${slice.length}-byte slice`);
  const { sender, receiver, waitFor } = await socketPair(t);
  receiver.pause();
  const fd = socketFd(sender);
  const started = performance.now();
  const first = sendFileNow(fd, slice, 0, slice.length);
  t.ok(first > 0 && first < slice.length, `a stalled peer takes part of it (${first} of ${slice.length} bytes)`);
  t.ok(performance.now() - started < 5000, 'and the call returns instead of waiting for the peer');
  t.equal(sendFileNow(fd, slice, first, 0), 0, 'an empty range sends nothing');
  receiver.resume();
  let sent = first;
  for (let rounds = 0; sent < slice.length && rounds < 10_000; rounds++) {
    sent += sendFileNow(fd, slice, sent, slice.length - sent);
    if (sent < slice.length) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  t.equal(sent, slice.length);
  t.ok((await waitFor(slice.length)).equals(slice.buffer!), 'the pieces arrive as the slice');
  t.throws(() => sendFileNow(fd, slice, 1, slice.length), /range inside the slice/);
  slice.release();
  t.throws(() => sendFileNow(fd, slice, 0, 1), { code: 'SLICE_RELEASED' });
});

t.test('a slice makes its Buffer on first access, once; released before that, it is empty', async (t) => {
  const log = openLog(t, tempDir(t));
  appendMany(log, 10);
  const slice = (await log.read(0n, 1 << 20, true, 'mmap'))!;
  const buffer = slice.buffer!;
  t.equal(slice.buffer, buffer, 'the same Buffer every time');
  t.equal(buffer.length, slice.length);
  slice.release();
  t.equal(slice.buffer, buffer, 'and after release(), still mapped');
  t.equal(buffer.length, slice.length);
  const untouched = (await log.read(0n, 1 << 20, true, 'mmap'))!;
  untouched.release();
  t.equal(untouched.buffer!.length, 0, 'released before first access: no mapping to show');
});
