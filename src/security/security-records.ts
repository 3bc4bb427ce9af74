// The broker's views of its users, ACLs and client quotas, kept in the metadata store
// (src/cluster/metadata-store.ts, "Users, ACLs and client quotas") so that every broker of a
// cluster enforces the same ones:
//   - a single node: its private in-process store, seeded at startup from the data
//     directory's file (scram-credentials.json, acls.json, client-quotas.json) and mirrored
//     back to it on every change, before the change is answered, as the files were kept before;
//   - the one-process cluster: the brokers share one in-process store; the first broker
//     whose file has records seeds it, and every broker mirrors it to its own file;
//   - a cluster on etcd: etcd holds them (durable, watched); the files are not used.
// Each view rebuilds itself from the store's records whenever they change, whichever broker
// changed them.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SecurityArea, type SecurityMetadata, type SecurityRecordChange } from '../cluster/metadata-store.js';
import { writeFileDurably } from '../log/durable-file.js';
import { type Logger } from '../logger.js';

export interface SecurityStoreContext {
  readonly store: SecurityMetadata;
  /** The broker's data directory. */
  readonly dataDir: string;
  /** Seed from and mirror to the data directory's files (an in-process store); false on etcd. */
  readonly mirror: boolean;
  readonly logger: Logger;
}

export abstract class RecordsView {
  private unwatch: (() => void) | undefined;
  private mirrorError: Error | undefined;
  private mirrored: string | undefined;
  protected readonly path: string;

  protected constructor(
    protected readonly area: SecurityArea,
    protected readonly context: SecurityStoreContext,
    fileName: string,
  ) {
    this.path = join(context.dataDir, fileName);
  }

  /** The records read back into the view (bad records are skipped and logged). */
  protected abstract rebuild(records: ReadonlyMap<string, string>): void;
  /** The mirror file's content, from the view. */
  protected abstract fileText(): string;
  /** The records a file holds; throws when it cannot be read. */
  protected abstract recordsFromFile(text: string): SecurityRecordChange[];
  /** A file that cannot be read: log and go on without it (true), or refuse to start (false). */
  protected abstract readonly tolerateDamagedFile: boolean;

  /** Seeds the store from the file when it has nothing yet, builds the view, and follows the store. */
  protected start(): void {
    const { store, mirror, logger } = this.context;
    if (mirror && existsSync(this.path) && store.securityRecords(this.area).size === 0) {
      let seed: SecurityRecordChange[] = [];
      try {
        seed = this.recordsFromFile(readFileSync(this.path, 'utf8'));
      } catch (error) {
        if (!this.tolerateDamagedFile) throw new Error(`Cannot read ${this.path}: ${(error as Error).message}`);
        logger.error(`Cannot read ${this.path}, its ${this.area} records are not loaded: ${(error as Error).message}`);
      }
      // In process: applied at once (the promise case is etcd, which never seeds from files).
      void store.writeSecurityRecords(this.area, seed);
    } else if (!mirror && existsSync(this.path)) {
      logger.warn(`${this.path} is not used: the cluster keeps its ${this.area} records in its metadata store`);
    }
    this.refresh();
    this.unwatch = store.watchSecurity((area) => {
      if (area === this.area) this.refresh();
    });
  }

  private refresh(): void {
    this.rebuild(this.context.store.securityRecords(this.area));
    if (!this.context.mirror) return;
    const text = this.fileText();
    if (text === this.mirrored || (this.mirrored === undefined && !existsSync(this.path) && this.context.store.securityRecords(this.area).size === 0)) return;
    try {
      writeFileDurably(this.path, text);
      this.mirrored = text;
    } catch (error) {
      this.mirrorError = error as Error;
      this.context.logger.error(`Cannot write ${this.path}: ${(error as Error).message}`);
    }
  }

  /** Writes changes to the store; resolves once this view shows them (and, mirrored, its file holds them). */
  protected async write(changes: readonly SecurityRecordChange[]): Promise<void> {
    if (changes.length === 0) return;
    this.mirrorError = undefined;
    await this.context.store.writeSecurityRecords(this.area, changes);
    if (this.mirrorError !== undefined) throw this.mirrorError;
  }

  /** Stops following the store (the broker stops). */
  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}

/** A record key from parts that may hold any character ('/' included). */
export function recordKey(...parts: string[]): string {
  return parts.map((part) => encodeURIComponent(part)).join('/');
}
