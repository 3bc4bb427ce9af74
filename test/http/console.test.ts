// The web console in headless Chromium (Debian's chromium, driven by playwright-core): a
// topic made and written by kafkajs shows with its partitions and offsets, the record browser
// shows a record's key, header and pretty-printed JSON value (by offset, by time, and live
// over the WebSocket stream), a group shows its lag per
// partition, the cluster page its broker as controller. Screenshots are kept in
// .tap/artifacts/console/ (gitignored). The console must be built (npm run build).

import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { chromium } from 'playwright-core';
import { startTestBroker } from '../helpers/broker.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../.tap/artifacts/console/', import.meta.url));

t.test('the console shows topics, offsets, records and group lag', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
    return;
  }
  const broker = await startTestBroker(t);
  const url = broker.httpUrl!;
  const kafka = new Kafka({ clientId: 'console-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'console-orders', numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const order = (id: number) => ({ id, item: 'book', price: 12.5, tags: ['paper', 'gift'] });
  await producer.send({
    topic: 'console-orders',
    messages: [1, 2, 3, 4, 5].map((id) => ({ partition: 0, key: `order-${id}`, value: JSON.stringify(order(id)), headers: { source: 'web', trace: `t-${id}` } })),
  });
  const consumer = kafka.consumer({ groupId: 'console-group' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'console-orders', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        if (++seen === 5) resolve();
      },
    });
  });
  await consumer.stop(); // commits offset 5 on partition 0
  await producer.send({ topic: 'console-orders', messages: [6, 7, 8].map((id) => ({ partition: 0, key: `order-${id}`, value: JSON.stringify(order(id)) })) });

  const profile = mkdtempSync(join(tmpdir(), 'spate-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    // Without the background-networking flags Chromium reaches for Google's services, which this closed network refuses.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // The cluster page: the broker, as controller, and the charts.
  await page.goto(`${url}/`);
  t.equal(new URL(page.url()).pathname, '/console/', '/ leads to the console');
  const brokerRow = page.locator('main table tbody tr').first();
  await brokerRow.waitFor();
  t.match(await brokerRow.innerText(), new RegExp(`^${broker.nodeId}\\s+127\\.0\\.0\\.1\\s+${broker.port}`), 'the broker with its address');
  t.match(await brokerRow.innerText(), /controller/);
  t.equal(await page.locator('figure.chart').count(), 3, 'throughput, bytes and latency charts');
  await page.locator('figure.chart polyline').first().waitFor({ state: 'attached', timeout: 10_000 }); // a flat line has no height
  await shot('cluster');

  // Topics: the new topic with its record count.
  await page.goto(`${url}/console/#/topics`);
  const topicRow = page.locator('main table tbody tr', { hasText: 'console-orders' });
  await topicRow.waitFor();
  t.match(await topicRow.innerText(), /console-orders\s+2\s+1\s+8\s/, '2 partitions, replication 1, 8 records');
  await shot('topics');

  // The topic: partition 0's offsets, then its records from offset 0.
  await topicRow.locator('a').click();
  await page.locator('h1[data-topic="console-orders"]').waitFor();
  const partitionRow = page.locator('main table').first().locator('tbody tr').first();
  t.match(await partitionRow.innerText(), /^0\s+\d+\s+\d+\s+\d+\s+0\s+8\s+8\s/, 'partition 0: start 0, end 8, high watermark 8');
  await page.selectOption('form.browse select[name=mode]', 'offset');
  await page.fill('form.browse input[name=offset]', '0');
  await page.click('form.browse button[type=submit]');
  const first = page.locator('.record-table tbody tr[data-offset="0"]');
  await first.waitFor();
  t.equal(await first.locator('td.key').innerText(), 'order-1', 'the key');
  t.match(await first.locator('td.headers').innerText(), /source: web[\s\S]*trace: t-1/, 'the headers, decoded');
  t.equal(await first.locator('td.value pre.json').innerText(), JSON.stringify(order(1), null, 2), 'the JSON value, pretty-printed');
  t.equal(await page.locator('.record-table tbody tr').count(), 8, 'every record of partition 0');
  await shot('topic');

  // By time: records from a timestamp after the first batch show the later ones only.
  const later = Date.now() - 1;
  await producer.send({ topic: 'console-orders', messages: [{ partition: 0, key: 'order-9', value: JSON.stringify(order(9)) }] });
  await page.selectOption('form.browse select[name=mode]', 'timestamp');
  await page.fill('form.browse input[name=time]', new Date(later - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 19));
  await page.click('form.browse button[type=submit]');
  await page.locator('.record-table tbody tr[data-offset="8"]').waitFor();
  t.ok((await page.locator('.record-table tbody tr').count()) <= 4, 'from a time: the records from then on');

  // Live: a record produced now is appended by the WebSocket tail.
  await page.check('form.browse input[name=live]');
  await page.waitForTimeout(300); // the subscription is made
  await producer.send({ topic: 'console-orders', messages: [{ partition: 0, key: 'order-10', value: JSON.stringify(order(10)), headers: { source: 'live' } }] });
  const live = page.locator('.record-table tbody tr[data-offset="9"]');
  await live.waitFor({ timeout: 10_000 });
  t.equal(await live.locator('td.key').innerText(), 'order-10', 'the tailed record');
  t.match(await live.locator('td.headers').innerText(), /source: live/);
  t.equal(await live.locator('td.value pre.json').innerText(), JSON.stringify(order(10), null, 2));
  await page.uncheck('form.browse input[name=live]');

  // The group: lag 5 on partition 0 (committed 5, high watermark 10).
  await page.goto(`${url}/console/#/groups`);
  const groupRow = page.locator('main table tbody tr', { hasText: 'console-group' });
  await groupRow.waitFor();
  t.match(await groupRow.innerText(), /console-group\s+EMPTY/, 'the group, empty since its consumer stopped');
  await groupRow.locator('a').click();
  await page.locator('h1[data-group="console-group"]').waitFor();
  const lagRow = page.locator('main table tbody tr', { hasText: 'console-orders' }).first();
  t.match(await lagRow.innerText(), /console-orders\s+0\s+5\s+10\s+5/, 'committed 5, log end 10, lag 5');
  t.equal(await lagRow.locator('[data-lag]').getAttribute('data-lag'), '5');
  await shot('group');

  t.same(pageErrors, [], 'no script errors');
  const foreign = requests.filter((request) => !request.startsWith(url) && !request.startsWith('ws://127.0.0.1'));
  t.same(foreign, [], 'nothing fetched from anywhere but the broker');
  t.comment(`screenshots in ${ARTIFACTS}`);
});
