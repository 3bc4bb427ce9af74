// The SCRAM credentials of the broker's users: only the salt, iteration count, StoredKey
// and ServerKey are kept, as Kafka keeps them in its metadata log. They live in the metadata
// store (one record per user and mechanism, so that every broker of a cluster authenticates
// the same users) and, on a single node, in `scram-credentials.json` in the data directory
// (src/security/security-records.ts).

import { type SecurityRecordChange } from '../cluster/metadata-store.js';
import { RecordsView, recordKey, type SecurityStoreContext } from './security-records.js';
import { type ScramCredential, type ScramMechanism } from './scram.js';

export const SCRAM_CREDENTIALS_FILE = 'scram-credentials.json';

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

type StoredFile = { version: 1; users: Record<string, Partial<Record<ScramMechanism, StoredCredential>>> };

const MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

function stored(credential: ScramCredential): StoredCredential {
  return {
    salt: credential.salt.toString('base64'),
    iterations: credential.iterations,
    storedKey: credential.storedKey.toString('base64'),
    serverKey: credential.serverKey.toString('base64'),
  };
}

function record(user: string, mechanism: ScramMechanism, credential: ScramCredential | null): SecurityRecordChange {
  return { key: recordKey(user, mechanism), value: credential === null ? null : JSON.stringify({ user, mechanism, ...stored(credential) }) };
}

export class ScramCredentialStore extends RecordsView {
  private users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  // A damaged file must not let anyone in, nor stop the broker: no SCRAM user works until the
  // credentials are set again.
  protected readonly tolerateDamagedFile = true;

  constructor(context: SecurityStoreContext) {
    super('scram', context, SCRAM_CREDENTIALS_FILE);
    this.start();
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.users.get(user)?.get(mechanism);
  }

  /** Users with at least one credential, with their mechanisms. */
  entries(): Array<[string, ReadonlyMap<ScramMechanism, ScramCredential>]> {
    return [...this.users.entries()].sort(([a], [b]) => a.localeCompare(b));
  }

  has(user: string): boolean {
    return this.users.has(user);
  }

  /** Applies a batch of changes (null deletes); resolves once stored. */
  apply(changes: ReadonlyArray<{ user: string; mechanism: ScramMechanism; credential: ScramCredential | null }>): Promise<void> {
    return this.write(changes.map(({ user, mechanism, credential }) => record(user, mechanism, credential)));
  }

  protected rebuild(records: ReadonlyMap<string, string>): void {
    const users = new Map<string, Map<ScramMechanism, ScramCredential>>();
    for (const [key, text] of records) {
      try {
        const parsed = JSON.parse(text) as StoredCredential & { user: string; mechanism: ScramMechanism };
        if (!MECHANISMS.includes(parsed.mechanism) || typeof parsed.user !== 'string') throw new Error('not a SCRAM credential');
        let credentials = users.get(parsed.user);
        if (credentials === undefined) users.set(parsed.user, (credentials = new Map()));
        credentials.set(parsed.mechanism, {
          salt: Buffer.from(parsed.salt, 'base64'),
          iterations: parsed.iterations,
          storedKey: Buffer.from(parsed.storedKey, 'base64'),
          serverKey: Buffer.from(parsed.serverKey, 'base64'),
        });
      } catch (error) {
        this.context.logger.error(`SCRAM credential record ${key} skipped: ${(error as Error).message}`);
      }
    }
    this.users = users;
  }

  protected fileText(): string {
    const users: StoredFile['users'] = {};
    for (const [user, credentials] of this.users) {
      users[user] = {};
      for (const [mechanism, credential] of credentials) users[user]![mechanism] = stored(credential);
    }
    return JSON.stringify({ version: 1, users } satisfies StoredFile, null, 2) + '\n';
  }

  protected recordsFromFile(text: string): SecurityRecordChange[] {
    const parsed = JSON.parse(text) as StoredFile;
    const changes: SecurityRecordChange[] = [];
    for (const [user, mechanisms] of Object.entries(parsed.users ?? {})) {
      for (const [mechanism, credential] of Object.entries(mechanisms ?? {})) {
        if (credential === undefined || !MECHANISMS.includes(mechanism as ScramMechanism)) continue;
        changes.push({ key: recordKey(user, mechanism), value: JSON.stringify({ user, mechanism, ...credential }) });
      }
    }
    return changes;
  }
}
