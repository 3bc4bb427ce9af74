// librdkafka's balanced consumer (kcat -G) against Spate: two members split a topic,
// commit, and a second run of the group resumes after the committed offsets.

import t from 'tap';
import { spawn } from 'node:child_process';
import { startTestBroker } from '../helpers/broker.js';
import { kcatProduce } from '../helpers/kcat.js';

/** Runs `kcat -G` until it has printed `count` records or the deadline passes. */
function kcatGroup(bootstrap: string, group: string, topic: string, count: number, timeoutMs = 60_000): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-b', bootstrap, '-G', group, '-f', '%p %o %s\n', '-X', 'auto.offset.reset=earliest', '-X', 'enable.auto.commit=true', '-X', 'auto.commit.interval.ms=100', '-q', topic], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    const finish = () => {
      clearTimeout(timer);
      // SIGINT lets librdkafka commit and leave the group cleanly.
      child.kill('SIGINT');
      child.once('exit', () => resolve(lines));
    };
    const timer = setTimeout(finish, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      if (lines.length >= count) finish();
    });
  });
}

t.test('kcat -G: balanced consumption and resume from committed offsets', async (t) => {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 2000, 'num.partitions': 4 } });
  const first = Array.from({ length: 200 }, (_, i) => `first ${i}`);
  await kcatProduce(broker.bootstrap, 'kcat-group', first);
  const [a, b] = await Promise.all([kcatGroup(broker.bootstrap, 'kg', 'kcat-group', 100, 20_000), kcatGroup(broker.bootstrap, 'kg', 'kcat-group', 100, 20_000)]);
  const values = [...a, ...b].map((line) => line.split(' ').slice(2).join(' '));
  t.same(new Set(values), new Set(first), 'the two members together read everything');
  t.ok(a.length > 0 && b.length > 0, `both members got partitions (${a.length} + ${b.length})`);

  const second = Array.from({ length: 50 }, (_, i) => `second ${i}`);
  await kcatProduce(broker.bootstrap, 'kcat-group', second);
  const resumed = await kcatGroup(broker.bootstrap, 'kg', 'kcat-group', 50, 30_000);
  t.same(new Set(resumed.map((line) => line.split(' ').slice(2).join(' '))), new Set(second), 'a new run starts after the committed offsets');
});
