// The overview: the cluster's brokers (controller, racks), partition health from /metrics, and
// live throughput and latency charts fed by a /metrics scrape every two seconds.

import { api } from './api.js';
import { LineChart } from './chart.js';
import { bytes, h, mount, table } from './dom.js';
import { gauge, parseExposition, rates, type Rates, type Snapshot } from './metrics.js';

const SCRAPE_MS = 2000;
const history: Rates[] = [];
let previous: Snapshot | undefined;
let latest: Snapshot | undefined;
let scraping: Promise<void> | undefined;

/** Scrapes /metrics; keeps two minutes of rates (also while another view is shown). */
async function scrape(): Promise<void> {
  const snapshot: Snapshot = { at: Date.now(), samples: parseExposition(await api.metrics()) };
  if (previous !== undefined) history.push(rates(previous, snapshot));
  while (history.length > 0 && history[0]!.at < snapshot.at - 130_000) history.shift();
  previous = snapshot;
  latest = snapshot;
}

export function startScraping(): void {
  const tick = () => {
    scraping = scrape().catch(() => undefined);
  };
  tick();
  setInterval(tick, SCRAPE_MS);
}

export async function overview(main: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const brokers = await api.brokers();
  const throughput = new LineChart('Records in per second', (value) => Math.round(value).toLocaleString('en-US'));
  const traffic = new LineChart('Bytes per second', (value) => `${bytes(Math.round(value))}/s`);
  const latency = new LineChart('Request latency (ms)', (value) => value.toFixed(value < 10 ? 2 : 0));
  const health = h('dl', { class: 'health' });
  mount(
    main,
    h('h1', {}, 'Cluster'),
    h('section', {}, h('h2', {}, `Brokers (${brokers.length})`)),
    table(['Broker', 'Host', 'Port', 'Rack', 'Role'], brokers, (broker) => [
      String(broker.broker_id),
      broker.host ?? '—',
      broker.port ?? '—',
      broker.rack ?? '—',
      broker.is_controller ? h('span', { class: 'badge' }, 'controller') : '',
    ]),
    h('h2', {}, 'Partitions (this broker)'),
    health,
    h('h2', {}, 'Live'),
    h('div', { class: 'charts' }, throughput.element, traffic.element, latency.element),
  );
  const draw = () => {
    const now = Date.now();
    throughput.draw([{ label: 'records in', color: '#2f7ed8', points: history.map((r) => ({ at: r.at, value: r.messagesIn })) }], now);
    traffic.draw(
      [
        { label: 'in', color: '#2f7ed8', points: history.map((r) => ({ at: r.at, value: r.bytesIn })) },
        { label: 'out', color: '#8bbc21', points: history.map((r) => ({ at: r.at, value: r.bytesOut })) },
      ],
      now,
    );
    latency.draw(
      [
        { label: 'Produce p50', color: '#8bbc21', points: history.map((r) => ({ at: r.at, value: r.produceP50 })) },
        { label: 'Produce p99', color: '#f28f43', points: history.map((r) => ({ at: r.at, value: r.produceP99 })) },
        { label: 'Fetch p99 (local, long polls left out)', color: '#910000', points: history.map((r) => ({ at: r.at, value: r.fetchLocalP99 })) },
      ],
      now,
    );
    const samples = latest?.samples ?? [];
    mount(
      health,
      ...[
        ['Leader of', gauge(samples, 'spate_leader_partitions')],
        ['Replicas held', gauge(samples, 'spate_replica_partitions')],
        ['Under-replicated', gauge(samples, 'spate_under_replicated_partitions')],
        ['Under min ISR', gauge(samples, 'spate_under_min_isr_partitions')],
        ['Offline (controller)', gauge(samples, 'spate_offline_partitions')],
      ].map(([label, value]) =>
        h('div', {}, h('dt', {}, String(label)), h('dd', { class: Number(value) > 0 && String(label).match(/Under|Offline/) ? 'bad' : '' }, String(value))),
      ),
    );
  };
  await scraping;
  draw();
  const timer = setInterval(() => (isCurrent() ? draw() : clearInterval(timer)), SCRAPE_MS);
}
