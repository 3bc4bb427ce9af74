// The record browser of one topic: a partition, from its latest records, an offset or a time;
// keys, headers and values (JSON pretty-printed), page by page; and a live tail over the
// WebSocket stream.

import { api, tail, type BrowsedRecord, type RecordData } from './api.js';
import { h, type Child } from './dom.js';

function base64Text(value: string | null): string {
  if (value === null) return 'null';
  const bytes = Uint8Array.from(atob(value), (char) => char.charCodeAt(0));
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text.includes('\uFFFD') ? `base64:${value}` : text;
}

function shown(data: RecordData | null): Child {
  if (data === null) return h('span', { class: 'null' }, 'null');
  if (data.type === 'JSON') return h('pre', { class: 'json' }, JSON.stringify(data.data, null, 2));
  if (data.type === 'BINARY') return h('code', { class: 'binary', title: 'base64' }, String(data.data));
  return h('code', {}, String(data.data));
}

/** A WebSocket record (key and value as text) in the REST shapes. */
function fromText(text: string | null): RecordData | null {
  if (text === null) return null;
  try {
    if (/^\s*[[{"]/.test(text)) return { type: 'JSON', data: JSON.parse(text) };
  } catch {
    // Text that merely starts like JSON.
  }
  return { type: 'STRING', data: text };
}

function row(record: BrowsedRecord): HTMLElement {
  return h(
    'tr',
    { 'data-offset': record.offset },
    h('td', { class: 'num' }, String(record.offset)),
    h('td', {}, record.timestamp.replace('T', ' ').replace('Z', '')),
    h('td', { class: 'key' }, shown(record.key)),
    h(
      'td',
      { class: 'headers' },
      record.headers.length === 0
        ? h('span', { class: 'null' }, '—')
        : h('ul', {}, ...record.headers.map((header) => h('li', {}, h('b', {}, header.name), ': ', base64Text(header.value)))),
    ),
    h('td', { class: 'value' }, shown(record.value)),
  );
}

export function recordBrowser(topic: string, partitions: number[]): HTMLElement {
  const partition = h('select', { name: 'partition' }, ...partitions.map((id) => h('option', { value: id }, `partition ${id}`)));
  const mode = h(
    'select',
    { name: 'mode' },
    h('option', { value: 'latest' }, 'latest records'),
    h('option', { value: 'offset' }, 'from offset'),
    h('option', { value: 'timestamp' }, 'from time'),
  );
  const offset = h('input', { name: 'offset', type: 'number', min: 0, value: 0, placeholder: 'offset' });
  const time = h('input', { name: 'time', type: 'datetime-local', step: 1 });
  const max = h('input', { name: 'max', type: 'number', min: 1, max: 1000, value: 20 });
  const status = h('span', { class: 'status' });
  const body = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Next page');
  const live = h('input', { type: 'checkbox', name: 'live' });
  let next: number | undefined;
  let stopTail: (() => void) | undefined;

  const syncInputs = () => {
    offset.hidden = mode.value !== 'offset';
    time.hidden = mode.value !== 'timestamp';
  };
  const load = async (from?: number) => {
    const query: Record<string, string> = { max: max.value || '20' };
    if (from !== undefined) query['offset'] = String(from);
    else if (mode.value === 'offset') query['offset'] = offset.value || '0';
    else if (mode.value === 'timestamp') query['timestamp'] = String(time.value === '' ? 0 : new Date(time.value).getTime());
    status.textContent = 'loading…';
    try {
      const page = await api.records(topic, Number(partition.value), query);
      if (from === undefined) body.replaceChildren();
      for (const record of page.data) body.append(row(record));
      next = page.next_offset < page.high_watermark ? page.next_offset : undefined;
      more.hidden = next === undefined;
      status.textContent = `offsets ${page.log_start_offset}–${page.high_watermark - 1} in the log; ${body.children.length} shown`;
    } catch (error) {
      status.textContent = (error as Error).message;
    }
  };
  const setTail = () => {
    stopTail?.();
    stopTail = undefined;
    if (!live.checked) return;
    stopTail = tail(
      topic,
      Number(partition.value),
      (records) => {
        for (const record of records) {
          const timestamp = new Date(Number(record.timestamp)).toISOString();
          body.append(row({ ...record, timestamp, key: fromText(record.key as string | null), value: fromText(record.value as string | null) }));
        }
        status.textContent = `live: ${body.children.length} shown`;
      },
      (message) => (status.textContent = message),
    );
  };
  mode.addEventListener('change', syncInputs);
  partition.addEventListener('change', () => {
    setTail();
    void load();
  });
  live.addEventListener('change', setTail);
  more.addEventListener('click', () => void load(next));
  syncInputs();
  const form = h(
    'form',
    { class: 'browse' },
    partition,
    mode,
    offset,
    time,
    h('label', {}, 'max ', max),
    h('button', { type: 'submit' }, 'Load'),
    h('label', { title: 'append new records as they arrive (WebSocket)' }, live, ' live'),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  const element = h(
    'section',
    { class: 'records' },
    h('h2', {}, 'Records'),
    form,
    h('table', { class: 'record-table' }, h('thead', {}, h('tr', {}, ...['Offset', 'Timestamp (UTC)', 'Key', 'Headers', 'Value'].map((title) => h('th', {}, title)))), body),
    more,
  );
  void load();
  // Stop the tail when the view is replaced.
  new MutationObserver((_changes, observer) => {
    if (!element.isConnected) {
      stopTail?.();
      observer.disconnect();
    }
  }).observe(document.body, { childList: true, subtree: true });
  return element;
}
