// The loopback limit (see bench/clients/loopback.mjs): a plain Node socket sink receiving
// a 1 KiB-record produce byte stream from another process, doing nothing with it.

import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onBrokerCore } from '../cpu-pin.mjs';
import { runProcess, resultLine, intervalSeries } from '../run-process.mjs';

export async function loopbackLimit(root, seconds) {
  const script = join(root, 'bench', 'clients', 'loopback.mjs');
  // The sink stands where the broker would: on the broker's core when the bench pins.
  const sink = spawn(...onBrokerCore(process.execPath, [script, 'sink']), { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const port = await new Promise((resolve, reject) => {
    const reader = createInterface({ input: sink.stdout });
    reader.on('line', (text) => {
      lines.push({ t: 0, text });
      const match = /^port (\d+)$/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    sink.once('exit', () => reject(new Error('loopback sink exited')));
  });
  const sinkDone = new Promise((resolve) => sink.once('exit', resolve));
  const sender = await runProcess(process.execPath, [script, 'send', '--port', String(port), '--seconds', String(seconds)], { timeoutMs: (seconds + 30) * 1000 });
  const killer = setTimeout(() => sink.kill('SIGKILL'), 10_000);
  await sinkDone;
  clearTimeout(killer);
  const received = resultLine(lines);
  const sent = resultLine(sender.lines);
  if (!received || !sent) return { ok: false, error: 'the loopback sink or sender failed' };
  // MB/s of record payload, the unit ProducerPerformance reports, and of raw wire bytes.
  return {
    ok: true,
    wireMbPerSec: received.mbPerSec,
    payloadMbPerSec: received.mbPerSec * sent.payloadShare,
    seconds: received.seconds,
    series: intervalSeries(lines),
  };
}
