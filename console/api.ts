// The console's only data sources: the broker's REST v3 API (Confluent REST Proxy v3 shapes
// plus Spate's additions), /metrics, and the WebSocket streams, all on the page's own origin.

export interface Broker {
  broker_id: number;
  host: string | null;
  port: number | null;
  rack: string | null;
  is_controller: boolean;
}

export interface Topic {
  topic_name: string;
  partitions_count: number;
  replication_factor: number;
  is_internal: boolean;
}

export interface PartitionLog {
  broker_id: number;
  log_start_offset: number;
  log_end_offset: number;
  high_watermark: number;
  size_bytes: number;
  segments: number;
}

export interface Partition {
  partition_id: number;
  leader_id: number;
  leader_epoch: number;
  replica_ids: number[];
  isr_ids: number[];
  offline_replica_ids: number[];
  log: PartitionLog | null;
}

export interface TopicConfig {
  name: string;
  value: string | null;
  is_default: boolean;
  is_sensitive: boolean;
  source: string;
}

export interface Group {
  consumer_group_id: string;
  state: string;
  type: string;
  is_simple: boolean;
  partition_assignor: string;
  members_count: number;
}

export interface Consumer {
  consumer_id: string;
  instance_id: string | null;
  client_id: string;
}

export interface Lag {
  topic_name: string;
  partition_id: number;
  current_offset: number;
  log_end_offset: number;
  lag: number;
  consumer_id: string;
  client_id: string;
}

export interface RecordData {
  type: 'JSON' | 'STRING' | 'BINARY';
  data: unknown;
}

export interface BrowsedRecord {
  partition_id: number;
  offset: number;
  timestamp: string;
  key: RecordData | null;
  value: RecordData | null;
  headers: Array<{ name: string; value: string | null }>;
}

export interface RecordPage {
  log_start_offset: number;
  high_watermark: number;
  next_offset: number;
  data: BrowsedRecord[];
}

let clusterId: string | undefined;

export class ApiError extends Error {}

async function json<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  if (!response.ok) throw new ApiError(body.message ?? `${response.status} ${response.statusText}`);
  return body as T;
}

export async function cluster(): Promise<{ cluster_id: string; controller: { related: string } }> {
  const list = await json<{ data: Array<{ cluster_id: string; controller: { related: string } }> }>('/v3/clusters');
  clusterId = list.data[0]!.cluster_id;
  return list.data[0]!;
}

async function data<T>(path: string): Promise<T[]> {
  clusterId ??= (await cluster()).cluster_id;
  return (await json<{ data: T[] }>(`/v3/clusters/${encodeURIComponent(clusterId)}${path}`)).data;
}

const part = encodeURIComponent;

export const api = {
  brokers: () => data<Broker>('/brokers'),
  topics: () => data<Topic>('/topics'),
  partitions: (topic: string) => data<Partition>(`/topics/${part(topic)}/partitions`),
  configs: (topic: string) => data<TopicConfig>(`/topics/${part(topic)}/configs`),
  groups: () => data<Group>('/consumer-groups'),
  consumers: (group: string) => data<Consumer>(`/consumer-groups/${part(group)}/consumers`),
  lags: (group: string) => data<Lag>(`/consumer-groups/${part(group)}/lags`),
  async records(topic: string, partition: number, query: Record<string, string>): Promise<RecordPage> {
    clusterId ??= (await cluster()).cluster_id;
    return json<RecordPage>(`/v3/clusters/${part(clusterId)}/topics/${part(topic)}/partitions/${partition}/records?${new URLSearchParams(query).toString()}`);
  },
  async metrics(): Promise<string> {
    const response = await fetch('/metrics');
    if (!response.ok) throw new ApiError(`/metrics: ${response.status}`);
    return response.text();
  },
};

/** A WebSocket subscription of one partition from its end; returns the close function. */
export function tail(
  topic: string,
  partition: number,
  onRecords: (records: Array<BrowsedRecord & { key: unknown; value: unknown }>) => void,
  onError: (message: string) => void,
): () => void {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v3/ws`);
  socket.addEventListener('open', () => socket.send(JSON.stringify({ op: 'subscribe', id: 'console', topic, partition, from: 'end' })));
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { op: string; records?: never[]; message?: string };
    if (message.op === 'records') onRecords(message.records ?? []);
    else if (message.op === 'error') onError(message.message ?? 'error');
  });
  socket.addEventListener('error', () => onError('the WebSocket failed'));
  return () => socket.close();
}
