import { abortReason, type Clock } from '../clock.js';

/**
 * The process's share of Weiban's in-flight cap: a semaphore whose slots a request keeps while
 * it is out, and a request given up on keeps for a while longer.
 */
export class Slots {
  readonly #size: number;
  readonly #clock: Clock;
  readonly #waiting: (() => void)[] = [];
  /** Slots taken by requests not yet answered. */
  #occupied = 0;
  /** Until when slots of requests given up on stay taken (epoch ms), one entry per slot. */
  #held: number[] = [];
  #peak = 0;
  #heldUntil = 0;

  constructor(size: number, clock: Clock) {
    this.#size = size;
    this.#clock = clock;
  }

  /** Most slots taken at once so far. */
  get peak(): number {
    return this.#peak;
  }

  /** The latest end of a held slot (epoch ms): whoever shares the cap must wait that long. */
  get heldUntil(): number {
    return this.#heldUntil;
  }

  /** Takes a slot, waiting for a release or for a held slot's time to pass. */
  async take(signal?: AbortSignal): Promise<void> {
    const clock = this.#clock;
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      this.#held = this.#held.filter((until) => until > now);
      if (this.#occupied + this.#held.length < this.#size) {
        this.#occupied += 1;
        this.#peak = Math.max(this.#peak, this.#occupied + this.#held.length);
        return;
      }
      await this.#nextSlotChance(now, signal);
    }
  }

  /** Resolves when a slot is released or a held one's time passes; rejects when `signal` aborts. */
  async #nextSlotChance(now: number, signal?: AbortSignal): Promise<void> {
    const stop = new AbortController();
    let wake = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiting.push(resolve);
    });
    const firstHeldEnds = Math.min(...this.#held);
    const waits: Promise<void>[] = [released];
    if (Number.isFinite(firstHeldEnds)) {
      const timer = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
      waits.push(this.#clock.sleep(firstHeldEnds - now, timer));
    }
    if (signal !== undefined) {
      waits.push(
        new Promise<void>((_, reject) => {
          const onAbort = () => {
            reject(abortReason(signal));
          };
          if (signal.aborted) onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          stop.signal.addEventListener('abort', () => {
            signal.removeEventListener('abort', onAbort);
          });
        }),
      );
    }
    try {
      await Promise.race(waits);
    } catch (error: unknown) {
      // Woken and aborted at once: the wake-up goes to the next waiter, never lost.
      if (!this.#waiting.includes(wake)) this.#waiting.shift()?.();
      throw error;
    } finally {
      stop.abort();
      const index = this.#waiting.indexOf(wake);
      if (index >= 0) this.#waiting.splice(index, 1);
    }
  }

  /** Gives a slot back: its request was answered. */
  release(): void {
    this.#occupied -= 1;
    this.#waiting.shift()?.();
  }

  /**
   * Keeps a slot taken for `ms` more: its request was given up on, but Weiban may still be
   * processing it. A time, not a timer: nothing keeps a finished process (the CLI) alive, and
   * the injected clock decides when it ends.
   */
  hold(ms: number): void {
    const until = this.#clock.now() + ms;
    this.#held.push(until);
    this.#heldUntil = Math.max(this.#heldUntil, until);
    this.release();
  }
}
