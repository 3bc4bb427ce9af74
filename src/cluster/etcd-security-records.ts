// Users, ACLs and client quotas in etcd, for EtcdMetadataStore (the security part of the
// MetadataStore interface): the records live under the cluster's prefix as
// scram/<key>, acls/<key> and quotas/<key>, each area loaded once and then kept current by
// its own watch, so every broker of the cluster enforces a change made through any of them.
//
// A copy only moves forward: a whole read of an area replaces the copy unless the watch is
// already past it, and watch events at or below the last read are in the copy already. A
// write is a transaction (at most KEYS_PER_TRANSACTION keys each; a larger change is written
// in several), followed by a read of the area, so the writer's own copy shows the change
// when the write settles, whether or not its watch has delivered it yet.

import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import { type Logger } from '../logger.js';
import { type SecurityArea, type SecurityRecordChange } from './metadata-store.js';

const AREAS: readonly SecurityArea[] = ['scram', 'acls', 'quotas'];
/** etcd's default --max-txn-ops is 128. */
const KEYS_PER_TRANSACTION = 100;

interface AreaCopy {
  readonly records: Map<string, string>;
  /** The revision of the last whole read: watch events at or below it are in the copy already. */
  readRevision: bigint;
  /** The highest revision the watch has applied (events come in revision order, a revision's events possibly split over responses). */
  watchedRevision: bigint;
  watcher: Watcher | undefined;
}

export class EtcdSecurityRecords {
  private readonly areas = new Map<SecurityArea, AreaCopy>();
  private readonly listeners = new Set<(area: SecurityArea) => void>();
  private closed = false;

  constructor(
    private readonly keys: Namespace,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>,
  ) {
    for (const area of AREAS) this.areas.set(area, { records: new Map(), readRevision: 0n, watchedRevision: 0n, watcher: undefined });
  }

  /** Loads every area and starts watching them. */
  async load(): Promise<void> {
    for (const area of AREAS) {
      await this.refresh(area);
      await this.startWatch(area);
    }
  }

  records(area: SecurityArea): ReadonlyMap<string, string> {
    return this.areas.get(area)!.records;
  }

  watch(listener: (area: SecurityArea) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async write(area: SecurityArea, changes: readonly SecurityRecordChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (let at = 0; at < changes.length; at += KEYS_PER_TRANSACTION) {
      const ops = changes
        .slice(at, at + KEYS_PER_TRANSACTION)
        .map(({ key, value }) => (value === null ? this.keys.delete().key(`${area}/${key}`) : this.keys.put(`${area}/${key}`).value(value)));
      // An unconditional transaction: a key's version is never below 0.
      await this.keys
        .if(`${area}/`, 'Version', '>', -1)
        .then(...ops)
        .commit();
    }
    await this.refresh(area);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const copy of this.areas.values()) {
      const watcher = copy.watcher;
      copy.watcher = undefined;
      if (watcher === undefined) continue;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    }
  }

  /** Reads the whole area; replaces the copy when the read is newer than it. */
  private async refresh(area: SecurityArea): Promise<void> {
    const snapshot = await this.keys.getAll().prefix(`${area}/`).exec();
    const copy = this.areas.get(area)!;
    const revision = BigInt(snapshot.header.revision);
    // The watch past this read has applied everything up to it, in order: the copy is newer.
    if (revision <= copy.readRevision || revision < copy.watchedRevision) return;
    copy.records.clear();
    for (const kv of snapshot.kvs) copy.records.set(kv.key.toString().slice(area.length + 1), kv.value.toString());
    copy.readRevision = revision;
    this.emit(area);
  }

  private async startWatch(area: SecurityArea): Promise<void> {
    const copy = this.areas.get(area)!;
    const watcher = this.keys
      .watch()
      .prefix(`${area}/`)
      .startRevision((copy.readRevision + 1n).toString())
      .watcher();
    copy.watcher = watcher;
    const created = new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.once('error', reject);
    });
    watcher.on('data', (response: IWatchResponse) => {
      if (copy.watcher === watcher) this.onWatch(area, response);
    });
    // A watch whose start revision was compacted away is cancelled: read the area again and watch from there.
    watcher.on('error', (error: Error) => {
      if (this.closed || copy.watcher !== watcher) return;
      this.logger.warn(`etcd watch of ${area} cancelled (${error.message}); reading it again`);
      copy.watcher = undefined;
      void this.restart(area);
    });
    await created;
  }

  private async restart(area: SecurityArea): Promise<void> {
    try {
      await this.refresh(area);
      await this.startWatch(area);
    } catch (error) {
      if (this.closed) return;
      this.logger.warn(`Reading ${area} from etcd failed (${(error as Error).message}); trying again in 1 s`);
      setTimeout(() => void this.restart(area), 1000).unref();
    }
  }

  private onWatch(area: SecurityArea, response: IWatchResponse): void {
    if (this.closed) return;
    const copy = this.areas.get(area)!;
    let changed = false;
    for (const event of response.events) {
      const kv: IKeyValue = event.kv;
      const revision = BigInt(kv.mod_revision);
      if (revision > copy.watchedRevision) copy.watchedRevision = revision;
      if (revision <= copy.readRevision) continue; // already in the copy (read after a write)
      const key = kv.key.toString().slice(area.length + 1);
      if (event.type === 'Put') copy.records.set(key, kv.value.toString());
      else copy.records.delete(key);
      changed = true;
    }
    if (changed) this.emit(area);
  }

  private emit(area: SecurityArea): void {
    for (const listener of [...this.listeners]) listener(area);
  }
}
