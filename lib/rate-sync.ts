import type { Clock } from './clock.js';
import { HARD_MAX_PER_MINUTE } from './config.js';
import type { PollLog } from './poller.js';
import type { LimiterSnapshot, WeibanLimiter } from './weiban/limiter.js';

export interface RateLedgerStore {
  load(): Promise<LimiterSnapshot | undefined>;
  save(snapshot: LimiterSnapshot, now: number): Promise<void>;
}

/**
 * Shares the limiter's recent sends with the next container (docs/guarantees.md#g4). A new
 * container restores them once; a busy run saves them every `headroom` sends, so at most `headroom`
 * sends are ever unknown to a successor, and budget + headroom stays within Weiban's 600 a minute.
 * Quiet runs save nothing, so an idle tick costs no write.
 */
export class RateSync {
  readonly #store: RateLedgerStore;
  readonly #clock: Clock;
  readonly #log: PollLog;
  readonly #headroom: number;
  #limiter: WeibanLimiter | undefined;
  #restored: Promise<void> | undefined;
  #sendsSinceSave = 0;
  #blockUnsaved = false;
  #saving: Promise<void> = Promise.resolve();

  constructor({
    store,
    clock,
    log,
    perMinute,
  }: {
    store: RateLedgerStore;
    clock: Clock;
    log: PollLog;
    perMinute: number;
  }) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
    this.#headroom = Math.max(10, HARD_MAX_PER_MINUTE - perMinute);
  }

  attach(limiter: WeibanLimiter): void {
    this.#limiter = limiter;
  }

  readonly onSend = (): void => {
    this.#sendsSinceSave += 1;
    // Only a busy minute needs sharing: if the last minute holds no more than the headroom,
    // a successor that knows nothing of it still stays within Weiban's limit.
    if (
      this.#sendsSinceSave > this.#headroom &&
      (this.#limiter?.busiestMinute() ?? 0) > this.#headroom
    ) {
      this.#save();
    }
  };

  readonly onBlock = (): void => {
    this.#blockUnsaved = true;
    this.#save();
  };

  /** Loads the last container's sends, once per process. */
  restoreOnce(): Promise<void> {
    this.#restored ??= this.#store.load().then(
      (snapshot) => {
        if (snapshot !== undefined) this.#limiter?.restore(snapshot);
      },
      (error: unknown) => {
        this.#restored = undefined;
        this.#log.warn('could not load recent Weiban sends; pacing from this process alone', {
          error: describe(error),
        });
      },
    );
    return this.#restored;
  }

  /** At a run's end: saves if the last minute was busy enough to matter, and waits for saves in flight. */
  async settle(): Promise<void> {
    if (this.#blockUnsaved || (this.#limiter?.busiestMinute() ?? 0) > this.#headroom) this.#save();
    await this.#saving;
  }

  #save(): void {
    const limiter = this.#limiter;
    if (limiter === undefined) return;
    this.#sendsSinceSave = 0;
    this.#blockUnsaved = false;
    this.#saving = this.#saving
      .then(() => this.#store.save(limiter.snapshot(), this.#clock.now()))
      .catch((error: unknown) => {
        this.#log.warn('could not save recent Weiban sends', { error: describe(error) });
      });
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : 'unknown';
