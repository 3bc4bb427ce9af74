// Topics: the list with their partitions, replication, size and record counts; one topic's
// partitions (leader, replicas, ISR, offsets, size), its configs and the record browser.

import { api, type Partition } from './api.js';
import { bytes, h, mount, number, table } from './dom.js';
import { recordBrowser } from './records.js';

const link = (topic: string) => h('a', { href: `#/topics/${encodeURIComponent(topic)}` }, topic);

function totals(partitions: Partition[]): { size: number | null; records: number | null } {
  const local = partitions.filter((partition) => partition.log !== null);
  if (local.length === 0) return { size: null, records: null };
  return {
    size: local.reduce((sum, partition) => sum + partition.log!.size_bytes, 0),
    records: local.reduce((sum, partition) => sum + partition.log!.high_watermark - partition.log!.log_start_offset, 0),
  };
}

export async function topicList(main: HTMLElement): Promise<void> {
  const topics = await api.topics();
  const details = await Promise.all(topics.map((topic) => api.partitions(topic.topic_name).then(totals, () => ({ size: null, records: null }))));
  const rows = topics.map((topic, index) => ({ topic, ...details[index]! }));
  mount(
    main,
    h('h1', {}, `Topics (${topics.filter((topic) => !topic.is_internal).length})`),
    table(
      ['Topic', 'Partitions', 'Replication', 'Records', 'Size'],
      rows.filter((row) => !row.topic.is_internal),
      (row) => [link(row.topic.topic_name), number(row.topic.partitions_count), number(row.topic.replication_factor), number(row.records), bytes(row.size)],
      'No topics yet.',
    ),
    h(
      'details',
      {},
      h('summary', {}, 'Internal topics'),
      ...rows.filter((row) => row.topic.is_internal).map((row) => h('p', {}, link(row.topic.topic_name), ` — ${row.topic.partitions_count} partitions, ${bytes(row.size)}`)),
    ),
  );
}

function replicas(partition: Partition): HTMLElement {
  return h(
    'span',
    { class: 'replicas' },
    ...partition.replica_ids.map((id) =>
      h(
        'span',
        {
          class: `replica${id === partition.leader_id ? ' leader' : ''}${partition.isr_ids.includes(id) ? '' : ' out-of-sync'}${partition.offline_replica_ids.includes(id) ? ' offline' : ''}`,
          title: id === partition.leader_id ? 'leader' : partition.isr_ids.includes(id) ? 'in sync' : 'not in the ISR',
        },
        String(id),
      ),
    ),
  );
}

export async function topicDetail(main: HTMLElement, topic: string): Promise<void> {
  const [partitions, configs] = await Promise.all([api.partitions(topic), api.configs(topic)]);
  const local = totals(partitions);
  mount(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/topics' }, 'Topics'), ' / '),
    h('h1', { 'data-topic': topic }, topic),
    h('p', {}, `${partitions.length} partitions, ${number(local.records)} records, ${bytes(local.size)} on this broker`),
    h('h2', {}, 'Partitions'),
    table(['Partition', 'Leader', 'Replicas (ISR bold)', 'ISR', 'Start offset', 'End offset', 'High watermark', 'Size', 'Segments'], partitions, (partition) => [
      String(partition.partition_id),
      partition.leader_id === -1 ? h('span', { class: 'bad' }, 'offline') : String(partition.leader_id),
      replicas(partition),
      partition.isr_ids.join(', '),
      number(partition.log?.log_start_offset),
      number(partition.log?.log_end_offset),
      number(partition.log?.high_watermark),
      bytes(partition.log?.size_bytes),
      number(partition.log?.segments),
    ]),
    recordBrowser(
      topic,
      partitions.map((partition) => partition.partition_id),
    ),
    h('h2', {}, 'Configs'),
    table(['Name', 'Value', 'Source'], configs, (config) => [
      h('code', {}, config.name),
      config.is_sensitive ? '(sensitive)' : h('code', { class: config.is_default ? '' : 'changed' }, config.value ?? 'null'),
      config.source.replace(/_/g, ' ').toLowerCase(),
    ]),
  );
}
