// A WebSocket subscriber that reads slowly while a producer writes 1 GiB: the broker (a child
// process, so its own memory is measured) keeps its WebSocket send buffer at the delivery
// limit and its anonymous memory (heap and buffers, /proc/<pid>/status RssAnon) far below
// what it received; the reader then gets the records in order. The figures are printed as
// test comments. SPATE_WS_MEMORY_MIB sets the amount (default 1024).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Socket } from 'node:net';
import WebSocket from 'ws';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { startProcessBroker } from '../helpers/process-broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';

const MIB = 1024 * 1024;
const TOTAL_MIB = Number(process.env['SPATE_WS_MEMORY_MIB'] ?? 1024);

function memory(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

t.test(`a slow WebSocket reader while ${TOTAL_MIB} MiB are produced`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-ws-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startProcessBroker(dir);
  t.teardown(async () => {
    broker.child.kill('SIGKILL');
    await broker.exited;
  });
  const pid = broker.child.pid!;
  const url = await broker.httpUrl();
  const clusterId = ((await (await fetch(`${url}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> }).data[0]!.cluster_id;
  const created = await fetch(`${url}/v3/clusters/${clusterId}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic_name: 'flood', partitions_count: 1 }),
  });
  t.equal(created.status, 201);

  // The reader: subscribed from the beginning, its socket read for 5 ms every 250 ms.
  const reader = new WebSocket(`${url.replace('http', 'ws')}/v3/ws`);
  await new Promise((resolve, reject) => reader.once('open', resolve).once('error', reject));
  let received = 0;
  let nextOffset = 0;
  let outOfOrder = '';
  reader.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { op: string; records?: Array<{ offset: number }> };
    if (message.op !== 'records') return;
    for (const record of message.records!) {
      if (record.offset !== nextOffset && outOfOrder === '') outOfOrder = `offset ${record.offset} where ${nextOffset} was due`;
      nextOffset = record.offset + 1;
      received++;
    }
  });
  reader.send(JSON.stringify({ op: 'subscribe', id: 'slow', topic: 'flood', from: 'beginning' }));
  const raw = (reader as unknown as { _socket: Socket })._socket;
  raw.pause();
  const trickle = setInterval(() => {
    raw.resume();
    setTimeout(() => raw.pause(), 5);
  }, 250);
  t.teardown(() => clearInterval(trickle));

  // Memory before, then sampled while 1 MiB Produce requests (1,000 records of 1,000 bytes) go in, 8 in flight.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = memory(pid);
  let peak = before;
  let peakBuffered = 0;
  const sampler = setInterval(() => {
    const now = memory(pid);
    if (now.anon > peak.anon) peak = { ...now };
  }, 50);
  const scraper = setInterval(() => {
    void fetch(`${url}/metrics`)
      .then((response) => response.text())
      .then((text) => (peakBuffered = Math.max(peakBuffered, Number(/^spate_websocket_buffered_bytes (\d+)/m.exec(text)?.[1] ?? 0))))
      .catch(() => undefined);
  }, 200);
  const value = Buffer.alloc(1000, 'v');
  const records = encodeRecordBatch({ records: Array.from({ length: 1000 }, () => ({ value })) });
  const frame = encodeRequest(0, 7, 1, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'flood', partitionData: [{ index: 0, records }] }] });
  const producer = await RawClient.connect(broker.bootstrap);
  t.teardown(() => producer.close());
  const requests = Math.ceil((TOTAL_MIB * MIB) / records.length);
  const started = performance.now();
  let inFlight = 0;
  for (let sent = 0; sent < requests; sent++) {
    producer.write(frame);
    if (++inFlight >= 8) {
      const answer = await producer.nextFrame(30_000);
      if (answer.readInt16BE(4 + 4 + 2 + 5 + 4 + 4) !== 0) throw new Error('produce failed');
      inFlight--;
    }
  }
  while (inFlight-- > 0) await producer.nextFrame(30_000);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  clearInterval(scraper);
  const produced = requests * records.length;
  const heldByReader = received;
  t.comment(
    `produced ${(produced / MIB).toFixed(0)} MiB (${(requests * 1000).toLocaleString('en-US')} records) in ${seconds.toFixed(1)} s while the reader took ${heldByReader.toLocaleString('en-US')} records; ` +
      `broker RssAnon ${(before.anon / MIB).toFixed(0)} MiB before, peak ${(peak.anon / MIB).toFixed(0)} MiB (RSS ${(peak.rss / MIB).toFixed(0)} MiB of which ${(peak.file / MIB).toFixed(0)} MiB mapped segment pages); ` +
      `WebSocket send buffer peak ${(peakBuffered / 1024).toFixed(0)} KiB`,
  );
  t.ok(heldByReader < produced / 1000 / 4, 'the reader was slow: it had taken under a quarter of the records');
  t.ok(peakBuffered <= 1.5 * MIB + 512 * 1024, `the WebSocket buffer stayed at its 1 MiB limit (peak ${peakBuffered})`);
  // The bound: what the broker holds does not grow with what it received (heap, request buffers, one read per socket).
  t.ok(peak.anon - before.anon < 256 * MIB, `anonymous memory grew ${((peak.anon - before.anon) / MIB).toFixed(0)} MiB for ${(produced / MIB).toFixed(0)} MiB produced`);

  // Let it read: the next records arrive in order.
  clearInterval(trickle);
  raw.resume();
  const target = heldByReader + 20_000;
  const deadline = Date.now() + 60_000;
  while (received < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(received >= target, `the reader caught up by 20,000 more records (${received.toLocaleString('en-US')})`);
  t.equal(outOfOrder, '', 'in order, none missing');
  reader.close();
});
