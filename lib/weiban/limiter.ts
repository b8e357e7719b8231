import { abortReason, type Clock } from '../clock.js';
import { isAbort } from '../errors.js';
import { RateLimitedError } from './errors.js';

const MINUTE_MS = 60_000;
/**
 * Weiban counts arrivals, the limiter counts its own decisions: a send holds its place in the
 * budget this much longer than the minute, so the varying delay between deciding and arriving
 * (connection set-up, retries in the network, a busy event loop) cannot fit one request more
 * into Weiban's minute than the budget allows (10053 blocks the endpoint for 60 s).
 */
export const SEND_SKEW_MS = 1_000;
const WINDOW_MS = MINUTE_MS + SEND_SKEW_MS;

export interface LimiterOptions {
  /** Weiban: fewer than 5 requests in processing per corp (10052). */
  readonly maxInFlight: number;
  /** Weiban: ≤ 600 per endpoint per minute (10053). */
  readonly perMinute: number;
  readonly clock: Clock;
  /**
   * How long a request that was sent but given up on (a timeout, the deadline) keeps its slot:
   * Weiban may still be processing it, and counts it against the corp's concurrency (10052).
   */
  readonly abandonedHoldMs?: number;
  /** Told of every send and every new block, e.g. to share them with the next process. */
  readonly onSend?: (endpoint: string) => void;
  readonly onBlock?: (endpoint: string, until: number) => void;
}

export interface LimiterStats {
  readonly calls: Readonly<Record<string, number>>;
  readonly maxInFlight: number;
}

/** What a limiter knows that the next process needs: recent sends and live blocks, epoch ms. */
export interface LimiterSnapshot {
  readonly sent: Readonly<Record<string, readonly number[]>>;
  readonly blockedUntil: Readonly<Record<string, number>>;
}

/**
 * Paces every Weiban request of the process: a cap on requests in flight, a per-endpoint
 * budget over any rolling minute, and endpoint blocks after 10053. Shared by all forms
 * and, at module scope, by warm invocations.
 */
export class WeibanLimiter {
  readonly #options: LimiterOptions;
  readonly #waiting: (() => void)[] = [];
  readonly #sent = new Map<string, number[]>();
  readonly #blockedUntil = new Map<string, number>();
  readonly #calls: Record<string, number> = {};
  #inFlight = 0;
  #maxInFlight = 0;

  constructor(options: LimiterOptions) {
    this.#options = options;
  }

  /** Runs `task` once a slot and the endpoint's budget allow it. Throws RateLimitedError while blocked. */
  async schedule<T>(endpoint: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.#throwIfBlocked(endpoint);
    await this.#acquireSlot(signal);
    let abandoned = false;
    try {
      await this.#takeBudget(endpoint, signal);
      this.#calls[endpoint] = (this.#calls[endpoint] ?? 0) + 1;
      this.#options.onSend?.(endpoint);
      return await task();
    } catch (error: unknown) {
      abandoned = isAbandoned(error);
      throw error;
    } finally {
      const hold = this.#options.abandonedHoldMs ?? 0;
      if (abandoned && hold > 0) {
        // Unref'd: a held slot must not keep a finished process (the CLI) alive.
        setTimeout(() => {
          this.#releaseSlot();
        }, hold).unref();
      } else this.#releaseSlot();
    }
  }

  /** Weiban: a per-minute breach blocks the caller for 60 s; nothing is sent before `until`. */
  block(endpoint: string, until: number): void {
    const known = this.#blockedUntil.get(endpoint) ?? 0;
    if (until <= known) return;
    this.#blockedUntil.set(endpoint, until);
    this.#options.onBlock?.(endpoint, until);
  }

  blockedUntil(endpoint: string): number | undefined {
    const until = this.#blockedUntil.get(endpoint);
    return until !== undefined && until > this.#options.clock.now() ? until : undefined;
  }

  stats(): LimiterStats {
    return { calls: { ...this.#calls }, maxInFlight: this.#maxInFlight };
  }

  /** Sends still inside the budget's window, per endpoint, and blocks still running. */
  snapshot(): LimiterSnapshot {
    const now = this.#options.clock.now();
    const sent: Record<string, number[]> = {};
    for (const [endpoint, times] of this.#sent) {
      const recent = times.filter((time) => time > now - WINDOW_MS);
      if (recent.length > 0) sent[endpoint] = recent;
    }
    const blockedUntil: Record<string, number> = {};
    for (const [endpoint, until] of this.#blockedUntil)
      if (until > now) blockedUntil[endpoint] = until;
    return { sent, blockedUntil };
  }

  /** Adopts what an earlier process sent, so a fresh process stays inside the same rolling minute. */
  restore(snapshot: LimiterSnapshot): void {
    for (const [endpoint, times] of Object.entries(snapshot.sent)) {
      const merged = [...(this.#sent.get(endpoint) ?? []), ...times].sort((a, b) => a - b);
      this.#sent.set(endpoint, merged);
    }
    for (const [endpoint, until] of Object.entries(snapshot.blockedUntil)) {
      this.#blockedUntil.set(endpoint, Math.max(until, this.#blockedUntil.get(endpoint) ?? 0));
    }
  }

  /** The most sends any endpoint has inside the budget's window (a minute and SEND_SKEW_MS). */
  busiestMinute(): number {
    return Math.max(0, ...Object.values(this.snapshot().sent).map((times) => times.length));
  }

  #throwIfBlocked(endpoint: string): void {
    const until = this.blockedUntil(endpoint);
    if (until !== undefined) throw new RateLimitedError(endpoint, until);
  }

  async #acquireSlot(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#inFlight < this.#options.maxInFlight) {
      this.#occupy();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#occupy();
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  #occupy(): void {
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
  }

  #releaseSlot(): void {
    this.#inFlight -= 1;
    this.#waiting.shift()?.();
  }

  async #takeBudget(endpoint: string, signal?: AbortSignal): Promise<void> {
    const { clock, perMinute } = this.#options;
    let sent = this.#sent.get(endpoint);
    if (sent === undefined) {
      sent = [];
      this.#sent.set(endpoint, sent);
    }
    for (;;) {
      this.#throwIfBlocked(endpoint);
      const now = clock.now();
      while (sent.length > 0 && (sent[0] ?? 0) <= now - WINDOW_MS) sent.shift();
      if (sent.length < perMinute) {
        sent.push(now);
        return;
      }
      await clock.sleep((sent[0] ?? now) + WINDOW_MS - now + 1, signal);
    }
  }
}

/** A sent request given up on before its answer: the caller's deadline, or a timeout. */
function isAbandoned(error: unknown): boolean {
  return (
    isAbort(error) || (error instanceof Error && 'abandoned' in error && error.abandoned === true)
  );
}
