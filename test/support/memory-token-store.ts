import type { CachedToken, TokenStore } from '../../lib/weiban/token.js';

/** The TokenStore contract in memory, with the same conditions as the DynamoDB one. */
export class MemoryTokenStore implements TokenStore {
  shared: CachedToken | undefined;
  lock: { owner: string; until: number } | undefined;
  locksTaken = 0;

  read(): Promise<CachedToken | undefined> {
    return Promise.resolve(this.shared);
  }

  tryLock(owner: string, until: number, now: number, bad: string | undefined): Promise<boolean> {
    const lockFree = this.lock === undefined || this.lock.until < now;
    const stale =
      this.shared === undefined || this.shared.refreshAt < now || this.shared.token === bad;
    if (!lockFree || !stale) return Promise.resolve(false);
    this.lock = { owner, until };
    this.locksTaken += 1;
    return Promise.resolve(true);
  }

  save(_owner: string, token: CachedToken): Promise<void> {
    this.shared = token;
    this.lock = undefined;
    return Promise.resolve();
  }

  unlock(owner: string): Promise<void> {
    if (this.lock?.owner === owner) this.lock = undefined;
    return Promise.resolve();
  }
}
