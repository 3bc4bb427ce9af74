// A full disk (issue 13): the log dir is a small tmpfs, filled up to a few hundred KiB by a
// file the test owns. Producers (kafkajs, acks=all) get KAFKA_STORAGE_ERROR while it is full;
// the broker logs one ERROR when an episode starts and one WARN when writes succeed again
// (twice: two episodes); everything acknowledged is read back (kcat), also after a restart,
// and nothing twice. Needs root to mount a tmpfs (CI runs as root); skipped otherwise.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { kcatConsume } from '../helpers/kcat.js';
import { startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';

const TOPIC = 'full';

/** Mounts a tmpfs of `mebibytes` at a new directory, or explains why it cannot. */
function mountTmpfs(mebibytes: number): { dir: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spate-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mebibytes}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); run as root to test a full disk` };
  }
}

/** Fills the file system to about `leaveBytes` free with one file; returns its path. */
function fill(dir: string, leaveBytes: number): string {
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  const path = join(dir, `filler-${Date.now()}`);
  writeFileSync(path, Buffer.alloc(Math.max(0, free - leaveBytes)));
  return path;
}

const lines = (broker: ProcessBroker, level: string, pattern: RegExp) =>
  broker
    .output()
    .split('\n')
    .filter((line) => line.includes(` ${level} `) && pattern.test(line));

const mounted = mountTmpfs(24);
if ('dir' in mounted) {
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', mounted.dir], { stdio: 'pipe' });
    } finally {
      rmSync(mounted.dir, { recursive: true, force: true });
    }
  });
}

t.test('a full disk: KAFKA_STORAGE_ERROR, one ERROR and one WARN per episode, nothing acknowledged lost', 'skip' in mounted ? { skip: mounted.skip } : {}, async (t) => {
  if (!('dir' in mounted)) return;
  const { dir } = mounted;
  const dataDir = join(dir, 'data');
  const broker = await startProcessBroker(dataDir);
  t.teardown(() => void broker.child.kill('SIGKILL'));
  const kafka = new Kafka({ clientId: 'disk-full', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect().catch(() => undefined));

  const acknowledged: string[] = [];
  const errors = new Map<string, number>();
  let sequence = 0;
  /** Sends 16 KiB batches until `failures` of them failed in a row (or `successes` succeeded); returns how many failed. */
  const send = async (until: { failures?: number; successes?: number }): Promise<number> => {
    let failed = 0;
    let succeeded = 0;
    for (let attempt = 0; attempt < 2000; attempt++) {
      const values = Array.from({ length: 4 }, () => `${sequence++}-${'x'.repeat(4096)}`);
      try {
        await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
        acknowledged.push(...values);
        succeeded++;
        failed = 0;
        if (until.successes !== undefined && succeeded >= until.successes) return failed;
      } catch (error) {
        const type = (error as { type?: string; cause?: { type?: string } }).type ?? (error as { cause?: { type?: string } }).cause?.type ?? (error as Error).name;
        errors.set(type, (errors.get(type) ?? 0) + 1);
        failed++;
        if (until.failures !== undefined && failed >= until.failures) return failed;
      }
    }
    throw new Error(`no ${JSON.stringify(until)} in 2000 sends: ${JSON.stringify(Object.fromEntries(errors))}`);
  };

  await send({ successes: 20 });
  for (const episode of [1, 2]) {
    const filler = fill(dir, 256 * 1024);
    t.equal(await send({ failures: 10 }), 10, `episode ${episode}: ten produces in a row refused`);
    rmSync(filler);
    await send({ successes: 10 });
    t.equal(lines(broker, 'ERROR', /Storage failure on full-0/).length, episode, `episode ${episode}: one ERROR line for the episode`);
    t.equal(lines(broker, 'WARN', /Storage recovered on full-0/).length, episode, `episode ${episode}: one WARN once writes succeed again`);
  }
  t.same([...errors.keys()], ['KAFKA_STORAGE_ERROR'], `producers were told KAFKA_STORAGE_ERROR (${errors.get('KAFKA_STORAGE_ERROR')} times)`);
  t.match(lines(broker, 'ERROR', /Storage failure/)[0], /ENOSPC|No space left on device/, 'the ERROR names the cause');

  const check = async (bootstrap: string, when: string) => {
    const values = (await kcatConsume(bootstrap, TOPIC)).map((record) => record.value!);
    const stored = new Set(values);
    t.equal(acknowledged.filter((value) => !stored.has(value)).length, 0, `${when}: all ${acknowledged.length} acknowledged records are there (${values.length} stored)`);
    t.equal(stored.size, values.length, `${when}: none twice`);
  };
  await check(broker.bootstrap, 'while running');
  await producer.disconnect();
  broker.child.kill('SIGTERM');
  t.equal((await broker.exited).code, 0, 'a clean stop after the episodes');
  const again = await startProcessBroker(dataDir);
  t.teardown(() => void again.child.kill('SIGKILL'));
  await check(again.bootstrap, 'after a restart');
  again.child.kill('SIGTERM');
  await again.exited;
});
