import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../lib/clock.js';
import { SEND_SKEW_MS, WeibanLimiter } from '../../../lib/weiban/limiter.js';

const MINUTE_MS = 60_000;

/** A clock whose sleeps jump straight to their end, so every wait lands exactly on its boundary. */
class JumpingClock implements Clock {
  #now = 1_800_000_000_000;

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    this.#now += Math.max(0, ms);
    return Promise.resolve();
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Most arrivals inside any window (T − 60 s, T], as Weiban counts them. */
function worstWeibanMinute(arrivals: readonly number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let worst = 0;
  let first = 0;
  sorted.forEach((at, last) => {
    while ((sorted[first] ?? at) <= at - MINUTE_MS) first += 1;
    worst = Math.max(worst, last - first + 1);
  });
  return worst;
}

describe('WeibanLimiter and the delay between deciding and arriving', () => {
  it("keeps Weiban's own minute within the budget when a minute's requests arrive late", async () => {
    const clock = new JumpingClock();
    const limiter = new WeibanLimiter({ maxInFlight: 1, perMinute: 5, clock });
    const arrivals: number[] = [];
    let sent = 0;

    // The first five take the longest to arrive, the rest none: the worst case for a limiter
    // that counts only its own decisions.
    await Promise.all(
      Array.from({ length: 15 }, () =>
        limiter.schedule('form/user/list', () => {
          arrivals.push(clock.now() + (sent < 5 ? SEND_SKEW_MS : 0));
          sent += 1;
          return Promise.resolve();
        }),
      ),
    );

    expect(worstWeibanMinute(arrivals)).toBe(5);
    expect(limiter.stats().calls).toEqual({ 'form/user/list': 15 });
  });

  it('hands the next container every send that still holds a place in the budget', async () => {
    const clock = new JumpingClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    await limiter.schedule('form/user/list', () => Promise.resolve());

    clock.advance(MINUTE_MS + SEND_SKEW_MS / 2);
    const held = limiter.snapshot().sent['form/user/list'];
    clock.advance(SEND_SKEW_MS);
    const released = limiter.snapshot().sent['form/user/list'];

    expect(held).toHaveLength(1);
    expect(released).toBeUndefined();
  });
});
