// The SCRAM credentials of the broker's users, kept in `scram-credentials.json` in the data
// directory (written atomically; a restart finds them). Only the salt, iteration count,
// StoredKey and ServerKey are kept, as Kafka keeps them in its metadata log.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger } from '../logger.js';
import { writeFileDurably } from '../log/durable-file.js';
import { type ScramCredential, type ScramMechanism } from './scram.js';

export const SCRAM_CREDENTIALS_FILE = 'scram-credentials.json';

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

type StoredFile = { version: 1; users: Record<string, Partial<Record<ScramMechanism, StoredCredential>>> };

export class ScramCredentialStore {
  private readonly users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  private readonly path: string;

  constructor(dataDir: string, logger: Logger) {
    this.path = join(dataDir, SCRAM_CREDENTIALS_FILE);
    if (!existsSync(this.path)) return;
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as StoredFile;
      for (const [user, mechanisms] of Object.entries(parsed.users ?? {})) {
        const credentials = new Map<ScramMechanism, ScramCredential>();
        for (const [mechanism, stored] of Object.entries(mechanisms ?? {})) {
          if (stored === undefined) continue;
          credentials.set(mechanism as ScramMechanism, {
            salt: Buffer.from(stored.salt, 'base64'),
            iterations: stored.iterations,
            storedKey: Buffer.from(stored.storedKey, 'base64'),
            serverKey: Buffer.from(stored.serverKey, 'base64'),
          });
        }
        if (credentials.size > 0) this.users.set(user, credentials);
      }
    } catch (error) {
      // A damaged file must not let anyone in, nor stop the broker: no SCRAM user works until
      // the credentials are set again.
      logger.error(`Cannot read ${this.path}, SCRAM users are not loaded: ${(error as Error).message}`);
    }
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

  /** Applies a batch of changes and writes the file once. */
  apply(changes: ReadonlyArray<{ user: string; mechanism: ScramMechanism; credential: ScramCredential | null }>): void {
    if (changes.length === 0) return;
    for (const { user, mechanism, credential } of changes) {
      const credentials = this.users.get(user) ?? new Map<ScramMechanism, ScramCredential>();
      if (credential === null) credentials.delete(mechanism);
      else credentials.set(mechanism, credential);
      if (credentials.size === 0) this.users.delete(user);
      else this.users.set(user, credentials);
    }
    this.persist();
  }

  private persist(): void {
    const users: StoredFile['users'] = {};
    for (const [user, credentials] of this.users) {
      users[user] = {};
      for (const [mechanism, credential] of credentials) {
        users[user]![mechanism] = {
          salt: credential.salt.toString('base64'),
          iterations: credential.iterations,
          storedKey: credential.storedKey.toString('base64'),
          serverKey: credential.serverKey.toString('base64'),
        };
      }
    }
    writeFileDurably(this.path, JSON.stringify({ version: 1, users } satisfies StoredFile, null, 2) + '\n');
  }
}
