// The loopback limit: how fast one Node process can receive a produce byte stream over
// 127.0.0.1 when it does nothing with it. Two roles, run as two processes:
//
//   node loopback.mjs sink                       listens on 127.0.0.1:0, prints "port N",
//                                                counts bytes, prints "interval <ms> 0 <bytes>"
//                                                once a second and "result {json}" when the
//                                                sender hangs up
//   node loopback.mjs send --port N --seconds S  writes Produce v7 requests (8 partitions,
//                                                one batch of 128 x 1 KiB records each: the
//                                                stream a producer with 1 KiB records sends)
//                                                as fast as the socket takes them, for S s
//
// A broker that keeps up with this is receiving at the limit of the machine, whatever it
// does with the bytes.

import net from 'node:net';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { API, encodeRecordBatch, encodeRequest, produceV7Body } from '../lib/kafka-wire.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string' }, seconds: { type: 'string', default: '10' }, 'record-size': { type: 'string', default: '1024' } },
});
const recordSize = Number(values['record-size']);
const RECORDS_PER_BATCH = Math.floor((128 * 1024) / recordSize);
const PARTITIONS = 8;

if (positionals[0] === 'sink') {
  const server = net.createServer((socket) => {
    let bytes = 0;
    let intervalBytes = 0;
    const start = performance.now();
    const reporter = setInterval(() => {
      console.log(`interval ${Math.round(performance.now() - start)} 0 ${intervalBytes}`);
      intervalBytes = 0;
    }, 1000);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      intervalBytes += chunk.length;
    });
    socket.on('close', () => {
      clearInterval(reporter);
      const seconds = (performance.now() - start) / 1000;
      console.log(`result ${JSON.stringify({ bytes, seconds, mbPerSec: bytes / seconds / (1024 * 1024) })}`);
      server.close();
      process.exit(0);
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
} else if (positionals[0] === 'send') {
  const value = randomBytes(recordSize);
  const batches = Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, batch: encodeRecordBatch(value, RECORDS_PER_BATCH) }));
  const frame = encodeRequest(API.produce, 7, 1, produceV7Body('loopback', 1, 30_000, batches));
  const payloadShare = (PARTITIONS * RECORDS_PER_BATCH * recordSize) / frame.length;
  const socket = net.connect({ host: '127.0.0.1', port: Number(values.port), noDelay: true });
  const end = performance.now() + Number(values.seconds) * 1000;
  let frames = 0;
  socket.on('connect', () => {
    const pump = () => {
      while (performance.now() < end) {
        frames++;
        if (!socket.write(frame)) return void socket.once('drain', pump);
      }
      socket.end(() => {
        console.log(`result ${JSON.stringify({ frames, frameBytes: frame.length, payloadShare })}`);
        process.exit(0);
      });
    };
    pump();
  });
} else {
  console.error('usage: loopback.mjs sink | send --port N --seconds S');
  process.exit(2);
}
