import type { Endpoint } from './types.js';

// Weiban: frequency limits count per minute; a per-minute breach blocks the caller for 60 s.
export const WINDOW_MS = 60_000;
export const BLOCK_MS = 60_000;

/**
 * Event times in the last `windowMs` (60 s unless told), oldest first; a clock that only
 * moves forward is assumed.
 */
export class RollingWindow {
  #times: number[] = [];
  #head = 0;

  constructor(readonly windowMs: number = WINDOW_MS) {}

  /** Records one event at `now` and returns how many fall in the window ending at `now`. */
  record(now: number): number {
    this.#times.push(now);
    return this.count(now);
  }

  count(now: number): number {
    const times = this.#times;
    while (this.#head < times.length && (times[this.#head] ?? now) <= now - this.windowMs) {
      this.#head += 1;
    }
    if (this.#head > 1024 && this.#head * 2 > times.length) {
      this.#times = times.slice(this.#head);
      this.#head = 0;
    }
    return this.#times.length - this.#head;
  }
}

/** Answer of the frequency check for one request. */
export type Admission = 'ok' | 'blocked' | 'breach';

/**
 * Weiban: ≤ 600 requests per endpoint per minute per corp (10053); going over blocks that
 * endpoint for 60 s, and calls made during the block neither count nor extend it.
 */
export class RateLimiter {
  readonly #windows = new Map<Endpoint, RollingWindow>();
  readonly #blockedUntil = new Map<Endpoint, number>();

  constructor(readonly perMinute: number) {}

  admit(endpoint: Endpoint, now: number): Admission {
    if (now < (this.#blockedUntil.get(endpoint) ?? Number.NEGATIVE_INFINITY)) return 'blocked';
    let window = this.#windows.get(endpoint);
    if (window === undefined) {
      window = new RollingWindow();
      this.#windows.set(endpoint, window);
    }
    if (window.record(now) <= this.perMinute) return 'ok';
    this.#blockedUntil.set(endpoint, now + BLOCK_MS);
    return 'breach';
  }
}
