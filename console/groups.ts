// Consumer groups: the list with their state, members and total lag; one group's members
// and its committed offsets and lag per partition.

import { api } from './api.js';
import { h, mount, number, table } from './dom.js';

const link = (group: string) => h('a', { href: `#/groups/${encodeURIComponent(group)}` }, group);

export async function groupList(main: HTMLElement): Promise<void> {
  const groups = await api.groups();
  const lags = await Promise.all(groups.map((group) => api.lags(group.consumer_group_id).catch(() => [])));
  mount(
    main,
    h('h1', {}, `Consumer groups (${groups.length})`),
    table(
      ['Group', 'State', 'Type', 'Members', 'Partitions', 'Total lag'],
      groups.map((group, index) => ({ group, lags: lags[index]! })),
      ({ group, lags }) => [
        link(group.consumer_group_id),
        h('span', { class: `state ${group.state.toLowerCase()}` }, group.state),
        group.type.toLowerCase(),
        number(group.members_count),
        number(lags.length),
        h('span', { class: lags.some((lag) => lag.lag > 0) ? 'lagging' : '' }, number(lags.reduce((sum, lag) => sum + lag.lag, 0))),
      ],
      'No consumer groups on this broker (a group lives on its coordinator).',
    ),
  );
}

export async function groupDetail(main: HTMLElement, group: string): Promise<void> {
  const [groups, consumers, lags] = await Promise.all([api.groups(), api.consumers(group).catch(() => []), api.lags(group)]);
  const info = groups.find((candidate) => candidate.consumer_group_id === group);
  mount(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/groups' }, 'Consumer groups'), ' / '),
    h('h1', { 'data-group': group }, group),
    h('p', {}, info === undefined ? '' : `${info.state}, ${info.type.toLowerCase()} group${info.partition_assignor !== '' ? `, assignor ${info.partition_assignor}` : ''}`),
    h('h2', {}, `Members (${consumers.length})`),
    table(
      ['Member', 'Client ID', 'Instance ID', 'Partitions'],
      consumers,
      (consumer) => [
        h('code', {}, consumer.consumer_id),
        consumer.client_id,
        consumer.instance_id ?? '—',
        lags
          .filter((lag) => lag.consumer_id === consumer.consumer_id)
          .map((lag) => `${lag.topic_name}-${lag.partition_id}`)
          .join(', ') || '—',
      ],
      'No members: nothing is consuming now.',
    ),
    h('h2', {}, 'Lag per partition'),
    table(
      ['Topic', 'Partition', 'Committed offset', 'Log end offset', 'Lag', 'Member'],
      lags,
      (lag) => [
        h('a', { href: `#/topics/${encodeURIComponent(lag.topic_name)}` }, lag.topic_name),
        String(lag.partition_id),
        number(lag.current_offset),
        number(lag.log_end_offset),
        h('span', { class: lag.lag > 0 ? 'lagging' : '', 'data-lag': lag.lag }, number(lag.lag)),
        lag.consumer_id === '' ? '—' : lag.client_id || lag.consumer_id,
      ],
      'No committed offsets.',
    ),
  );
}
