#!/usr/bin/env node
// Micro-benchmarks of the protocol codec on the two hot paths (benchmark.js): decoding a
// Produce v9 request and encoding a Fetch v12 response, each with one partition of 16 KiB of
// records, plus the portable CRC-32C over the same 16 KiB. Run `npm run build` first; then
// `node bench/micro/codec.mjs` (SPATE_DIST=<dir> points it at another build of src/).

import Benchmark from 'benchmark';
import { pathToFileURL } from 'node:url';

const dist = process.env.SPATE_DIST ? pathToFileURL(`${process.env.SPATE_DIST.replace(/\/$/, '')}/`) : new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);

const RECORDS_BYTES = 16 * 1024;

function runSuite(name, build) {
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite(name);
    build(suite);
    suite.on('cycle', (event) => {
      const bench = event.target;
      if (bench.error) console.log(`  ${bench.name}: ${bench.error.stack ?? bench.error}`);
      const perOp = bench.stats.mean * 1e9;
      console.log(`  ${String(bench)}  (${perOp.toFixed(0)} ns/op)`);
    });
    suite.on('complete', resolve);
    console.log(`\n${name}`);
    suite.run({ async: true });
  });
}

export async function run() {
  const { Reader, Writer } = await load('protocol/primitives.js');
  const { encodeRecordBatch } = await load('protocol/record-batch.js');
  const { crc32cTable } = await load('protocol/crc32c.js');
  const { decodeRequest, encodeRequest, encodeResponse, readRequestHeader } = await load('protocol/frame.js');
  const { ApiKey, readProduceRequest } = await load('protocol/generated/index.js');

  // benchmark.js inlines test bodies by decompiling them, which loses their closures.
  Benchmark.support.decompilation = false;

  // About 16 KiB of records: 16 records of 1000-byte values.
  const records = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000n,
    producerId: 1000n,
    producerEpoch: 0,
    baseSequence: 0,
    records: Array.from({ length: 16 }, (_, i) => ({ key: `key-${i}`, value: Buffer.alloc(1000, i) })),
  });
  const produceFrame = encodeRequest(ApiKey.Produce, 9, 1, 'bench-client', {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: [{ index: 0, records }] }],
  }).subarray(4);
  const headerReader = new Reader(produceFrame);
  readRequestHeader(headerReader);
  const produceBody = produceFrame.subarray(headerReader.offset);

  const fetchRecords = Buffer.alloc(RECORDS_BYTES, 7);
  const fetchResponse = () => ({
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'bench-topic',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: 1000n,
            lastStableOffset: 1000n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: fetchRecords,
          },
        ],
      },
    ],
  });
  const fileRegion = { byteLength: RECORDS_BYTES, fd: 3, position: 0 };

  let sink = 0;
  await runSuite(`codec (records: ${records.length} bytes in, ${RECORDS_BYTES} bytes out)`, (suite) => {
    suite.add('decode Produce v9 body', () => {
      const m = readProduceRequest(new Reader(produceBody), 9);
      sink += m.topicData.length;
    });
    suite.add('decode Produce v9 frame (header + body)', () => {
      const { body } = decodeRequest(produceFrame);
      sink += body.acks;
    });
    suite.add('encode Fetch v12 response, 16 KiB Buffer records (copied)', () => {
      const chunks = encodeResponse(ApiKey.Fetch, 12, 1, fetchResponse());
      sink += chunks.length;
    });
    suite.add('encode Fetch v12 response, 16 KiB file region (out of band)', () => {
      const response = fetchResponse();
      response.responses[0].partitions[0].records = fileRegion;
      const chunks = encodeResponse(ApiKey.Fetch, 12, 1, response);
      sink += chunks.length;
    });
    suite.add('Writer: 1000 int32', () => {
      const w = new Writer();
      for (let i = 0; i < 1000; i++) w.int32(i);
      sink += w.byteLength;
    });
    suite.add('crc32cTable (portable JS), 16 KiB', () => {
      sink += crc32cTable(fetchRecords);
    });
  });
  if (sink === 0.5) console.log(sink); // keep the results alive
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
