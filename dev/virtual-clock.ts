import { systemClock, type Clock } from '../lib/clock.js';

/**
 * A clock for tests, the benchmark and the simulator: real time, optionally running `scale`
 * times faster, plus jumps made with `advance()`. Sleeps are real but shortened by the same
 * scale, so concurrent code keeps its real interleaving while minutes pass in seconds.
 */
export class VirtualClock implements Clock {
  readonly #scale: number;
  readonly #realStart = Date.now();
  readonly #virtualStart: number;
  #jumpedMs = 0;

  constructor({ scale = 1, startMs = Date.now() }: { scale?: number; startMs?: number } = {}) {
    if (!(scale > 0)) throw new RangeError('scale must be positive');
    this.#scale = scale;
    this.#virtualStart = startMs;
  }

  now(): number {
    return Math.floor(
      this.#virtualStart + (Date.now() - this.#realStart) * this.#scale + this.#jumpedMs,
    );
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms / this.#scale, signal);
  }

  /** Jumps forward, e.g. past a 60 s rate-limit block or a token's expiry. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock never goes back');
    this.#jumpedMs += ms;
  }
}
