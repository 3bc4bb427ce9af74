// The health of the log directory as the appends see it: a failing disk (ENOSPC, EIO) is
// logged once when an episode starts, with the file and errno, and once when writes
// succeed again, instead of once per request or never.

import { type Logger } from '../logger.js';

export class StorageHealth {
  private failingSince: number | undefined;
  private failures = 0;

  constructor(private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>) {}

  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  /** A storage operation failed; logs only the first failure of an episode. */
  failed(what: string, error: Error, nowMs = Date.now()): void {
    this.failures++;
    if (this.failingSince !== undefined) return;
    this.failingSince = nowMs;
    this.logger.error(
      `Storage failure on ${what}: ${error.message}. Producers get KAFKA_STORAGE_ERROR until writes succeed again; ` +
        'free space on the log.dir or check the disk (further failures are not logged until it recovers)',
    );
  }

  /** A storage operation succeeded; ends a failure episode. */
  succeeded(what: string, nowMs = Date.now()): void {
    if (this.failingSince === undefined) return;
    this.logger.warn(`Storage recovered on ${what} after ${nowMs - this.failingSince} ms and ${this.failures} failed operation(s)`);
    this.failingSince = undefined;
    this.failures = 0;
  }
}
