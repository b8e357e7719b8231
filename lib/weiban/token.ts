import type { Clock } from '../clock.js';

/** A token and the moment (epoch ms) after which it is no longer used. */
export interface CachedToken {
  readonly token: string;
  readonly refreshAt: number;
}

/**
 * The shared copy of the corp's token, read and written by every poller (docs/guarantees.md#g5).
 */
export interface TokenStore {
  /** Strongly consistent read of the shared token, if any. */
  read(): Promise<CachedToken | undefined>;
  /**
   * Takes the right to fetch a new token until `until`. Succeeds only when no live lock is
   * held and the shared token is missing, expired at `now`, or equal to `bad`.
   */
  tryLock(owner: string, until: number, now: number, bad: string | undefined): Promise<boolean>;
  /** Stores the new token and releases the lock. */
  save(owner: string, token: CachedToken): Promise<void>;
  /** Releases the lock after a failed fetch, so another poller may try at once. */
  unlock(owner: string): Promise<void>;
}

export interface FetchedToken {
  readonly accessToken: string;
  readonly expiresIn: number | undefined;
}

export interface TokenProviderOptions {
  readonly store: TokenStore;
  readonly fetchToken: (signal?: AbortSignal) => Promise<FetchedToken>;
  readonly clock: Clock;
  /** Identifies this process as a lock holder. */
  readonly owner: string;
  /** Used when Weiban sends no `expires_in` (its lifetime is undocumented). */
  readonly fallbackTtlSeconds: number;
  /** How long a refresher may hold the lock before others may take over. */
  readonly lockMs?: number;
  /** How often a waiting poller looks for the refresher's token. */
  readonly pollMs?: number;
}

/** Refresh this long before Weiban says the token ends (docs/guarantees.md#g5). */
export const REFRESH_MARGIN_S = 300;

/**
 * One token per corp, shared through memory and the store. Concurrent callers in a process
 * share one fetch; across processes a store lock lets exactly one poller fetch (no stampede).
 */
export class TokenProvider {
  readonly #o: TokenProviderOptions;
  #cached: CachedToken | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: TokenProviderOptions) {
    this.#o = options;
  }

  /** A token that is believed valid. */
  async get(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached !== undefined && cached.refreshAt > this.#o.clock.now()) return cached.token;
    return this.#singleFlight(undefined, signal);
  }

  /** A token other than `bad`, which Weiban just refused with 10001. */
  async replace(bad: string, signal?: AbortSignal): Promise<string> {
    if (this.#cached?.token === bad) this.#cached = undefined;
    const cached = this.#cached;
    if (cached !== undefined && cached.refreshAt > this.#o.clock.now()) return cached.token;
    return this.#singleFlight(bad, signal);
  }

  #singleFlight(bad: string | undefined, signal?: AbortSignal): Promise<string> {
    this.#pending ??= this.#obtain(bad, signal).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #obtain(bad: string | undefined, signal?: AbortSignal): Promise<string> {
    const { store, clock, owner } = this.#o;
    const lockMs = this.#o.lockMs ?? 15_000;
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const shared = await store.read();
      if (shared !== undefined && shared.token !== bad && shared.refreshAt > now) {
        this.#cached = shared;
        return shared.token;
      }
      if (await store.tryLock(owner, now + lockMs, now, bad)) {
        return this.#fetchAndShare(signal);
      }
      await clock.sleep(this.#o.pollMs ?? 250, signal);
    }
  }

  async #fetchAndShare(signal?: AbortSignal): Promise<string> {
    const { store, clock, owner, fetchToken, fallbackTtlSeconds } = this.#o;
    let fresh: CachedToken;
    try {
      const fetched = await fetchToken(signal);
      const ttl = fetched.expiresIn ?? fallbackTtlSeconds;
      const usable = ttl > 2 * REFRESH_MARGIN_S ? ttl - REFRESH_MARGIN_S : ttl / 2;
      fresh = { token: fetched.accessToken, refreshAt: clock.now() + usable * 1000 };
    } catch (error: unknown) {
      await store.unlock(owner).catch(() => undefined);
      throw error;
    }
    await store.save(owner, fresh);
    this.#cached = fresh;
    return fresh.token;
  }
}
