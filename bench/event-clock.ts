import { abortReason, type Clock } from '../lib/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly wake: () => void;
  cancelled: boolean;
}

/**
 * A discrete-event clock: time stands still while anything can still run, and jumps to the
 * earliest sleep's end once everything waits. Code that waits only on this clock and on
 * promises (no sockets, no real timers) then runs as it would in real time, with every wait
 * exact, in the same order every run, and as fast as the CPU allows: an hour of passes takes
 * seconds. Sleeps that end at the same moment wake in the order they began.
 */
export class EventClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];

  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        timer.cancelled = true;
        reject(abortReason(signal));
      };
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        seq: (this.#seq += 1),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancelled: false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#push(timer);
    });
  }

  /**
   * Runs the world until `untilMs`: lets everything that can run settle, wakes the earliest
   * sleeper, and so on; then leaves the time at `untilMs`.
   */
  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.#peek();
      if (next === undefined || next.at > untilMs) break;
      this.#pop();
      this.#now = Math.max(this.#now, next.at);
      next.wake();
    }
    this.#now = Math.max(this.#now, untilMs);
    await settle();
  }

  /** Sleeps not yet woken or cancelled. */
  get pending(): number {
    return this.#heap.filter((timer) => !timer.cancelled).length;
  }

  #peek(): Timer | undefined {
    while (this.#heap[0]?.cancelled === true) this.#pop();
    return this.#heap[0];
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index], heap[parent])) break;
      swap(heap, index, parent);
      index = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) return;
      swap(heap, index, smallest);
      index = smallest;
    }
  }
}

function before(a: Timer | undefined, b: Timer | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function swap(heap: Timer[], i: number, j: number): void {
  const a = heap[i];
  const b = heap[j];
  if (a === undefined || b === undefined) return;
  heap[i] = b;
  heap[j] = a;
}

/** Every promise callback and nextTick that can run now, runs (two turns of the event loop). */
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}
