/** Weiban counts a minute's and an hour's requests per endpoint (10053 past either). */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/**
 * Weiban counts arrivals, a caller counts its own decisions: a send holds its place in the
 * budget this much longer than the minute, so the varying delay between deciding and arriving
 * (connection set-up, a busy event loop, clocks of different callers a little apart) cannot
 * fit one request more into Weiban's minute than the budget allows.
 */
export const SEND_SKEW_MS = 1_000;
const WINDOW_MS = MINUTE_MS + SEND_SKEW_MS;

/**
 * Sends whose endpoint nobody knows: a caller that died before it shared what it sent. They
 * count against every endpoint's budget.
 */
export const ANY_ENDPOINT = '*';

/**
 * The corp's recent sends as the table keeps them: per endpoint, counts per epoch second for
 * the last minute and per epoch minute for the last hour. Seconds and minutes keep the item
 * a few KB whatever the rate.
 */
export interface SharedSends {
  readonly seconds: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly minutes: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export const NO_SENDS: SharedSends = { seconds: {}, minutes: {} };

/**
 * Every Weiban send of the corp that this caller knows of: its own, and what earlier holders
 * of the corp's budget shared (docs/guarantees.md#g4). Answers how many fall in the rolling
 * minute and hour, and when the next send fits. Pure: time is always passed in.
 */
export class SendLog {
  /** endpoint → send times (epoch ms), ascending. */
  readonly #minute = new Map<string, number[]>();
  /** endpoint → epoch minute → sends. */
  readonly #hour = new Map<string, Map<number, number>>();

  /** A log holding what the table says the corp sent. */
  static from(shared: SharedSends): SendLog {
    const log = new SendLog();
    for (const [endpoint, buckets] of Object.entries(shared.seconds)) {
      for (const [second, count] of Object.entries(buckets)) {
        // Any time within the second: take its end, the later (safer) one.
        log.#addToMinute(endpoint, Number(second) * 1000 + 999, count);
      }
    }
    for (const [endpoint, buckets] of Object.entries(shared.minutes)) {
      for (const [minute, count] of Object.entries(buckets)) {
        log.#addToHour(endpoint, Number(minute), count);
      }
    }
    return log;
  }

  /** One send to `endpoint` at `at`, or `count` unknown ones (ANY_ENDPOINT). */
  record(endpoint: string, at: number, count = 1): void {
    this.#addToMinute(endpoint, at, count);
    this.#addToHour(endpoint, Math.floor(at / MINUTE_MS), count);
  }

  /** Sends to `endpoint` that Weiban may still count in the minute ending at `now`. */
  inMinute(endpoint: string, now: number): number {
    return this.#windowOf(endpoint, now).length + this.#windowOf(ANY_ENDPOINT, now).length;
  }

  /** Sends to `endpoint` in the rolling hour ending at `now` (the current minute included). */
  inHour(endpoint: string, now: number): number {
    return this.#hourOf(endpoint, now) + this.#hourOf(ANY_ENDPOINT, now);
  }

  /**
   * When one more send to `endpoint` fits both budgets: `now` if it fits already. Why the
   * hour counts whole minutes: a minute's sends leave the hour together, 61 minutes after it
   * began, which is never earlier than Weiban lets them go.
   */
  nextFreeAt(
    endpoint: string,
    now: number,
    budget: { readonly perMinute: number; readonly perHour: number },
  ): number {
    let at = now;
    const minute = [...this.#windowOf(endpoint, now), ...this.#windowOf(ANY_ENDPOINT, now)].sort(
      (a, b) => a - b,
    );
    const overMinute = minute.length - budget.perMinute;
    if (overMinute >= 0) at = Math.max(at, (minute[overMinute] ?? now) + WINDOW_MS + 1);
    let overHour = this.inHour(endpoint, now) - budget.perHour;
    if (overHour >= 0) {
      const counts = this.#mergedHour(endpoint, now);
      for (const [minuteIndex, count] of counts) {
        overHour -= count;
        if (overHour < 0) {
          at = Math.max(at, (minuteIndex + 61) * MINUTE_MS);
          break;
        }
      }
    }
    return at;
  }

  /** The log as the table keeps it: only what still counts at `now`. */
  toShared(now: number): SharedSends {
    const seconds: Record<string, Record<string, number>> = {};
    for (const endpoint of this.#minute.keys()) {
      const buckets: Record<string, number> = {};
      for (const at of this.#windowOf(endpoint, now)) {
        const second = String(Math.floor(at / 1000));
        buckets[second] = (buckets[second] ?? 0) + 1;
      }
      if (Object.keys(buckets).length > 0) seconds[endpoint] = buckets;
    }
    const minutes: Record<string, Record<string, number>> = {};
    for (const endpoint of this.#hour.keys()) {
      this.#hourOf(endpoint, now);
      const counts = this.#hour.get(endpoint);
      if (counts === undefined || counts.size === 0) continue;
      minutes[endpoint] = Object.fromEntries([...counts].map(([m, n]) => [String(m), n]));
    }
    return { seconds, minutes };
  }

  /** Every endpoint with a send in the last hour. */
  endpoints(): string[] {
    return [...new Set([...this.#minute.keys(), ...this.#hour.keys()])].filter(
      (endpoint) => endpoint !== ANY_ENDPOINT,
    );
  }

  #addToMinute(endpoint: string, at: number, count: number): void {
    let times = this.#minute.get(endpoint);
    if (times === undefined) {
      times = [];
      this.#minute.set(endpoint, times);
    }
    for (let i = 0; i < count; i += 1) times.push(at);
    // Appends are in time order except when a shared log is merged in; keep it sorted.
    if (times.length > count && (times[times.length - count - 1] ?? 0) > at) {
      times.sort((a, b) => a - b);
    }
  }

  #addToHour(endpoint: string, minute: number, count: number): void {
    let counts = this.#hour.get(endpoint);
    if (counts === undefined) {
      counts = new Map();
      this.#hour.set(endpoint, counts);
    }
    counts.set(minute, (counts.get(minute) ?? 0) + count);
  }

  /** The endpoint's sends still inside the window at `now`; older ones are dropped. */
  #windowOf(endpoint: string, now: number): number[] {
    const times = this.#minute.get(endpoint);
    if (times === undefined) return [];
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= now - WINDOW_MS) drop += 1;
    if (drop > 0) times.splice(0, drop);
    return times;
  }

  #hourOf(endpoint: string, now: number): number {
    const counts = this.#hour.get(endpoint);
    if (counts === undefined) return 0;
    const first = Math.floor(now / MINUTE_MS) - 60;
    let total = 0;
    for (const [minute, count] of counts) {
      if (minute < first) counts.delete(minute);
      else total += count;
    }
    return total;
  }

  /** The endpoint's and the unknown sends per minute of the last hour, oldest first. */
  #mergedHour(endpoint: string, now: number): [number, number][] {
    this.#hourOf(endpoint, now);
    this.#hourOf(ANY_ENDPOINT, now);
    const merged = new Map<number, number>();
    for (const key of [endpoint, ANY_ENDPOINT]) {
      for (const [minute, count] of this.#hour.get(key) ?? []) {
        merged.set(minute, (merged.get(minute) ?? 0) + count);
      }
    }
    return [...merged].sort((a, b) => a[0] - b[0]);
  }
}
