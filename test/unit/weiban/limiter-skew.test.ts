import { describe, expect, it } from 'vitest';
import { WeibanLimiter } from '../../../lib/weiban/limiter.js';
import { SEND_SKEW_MS, SendLog } from '../../../lib/weiban/send-log.js';
import { JumpingClock } from '../../support/jumping-clock.js';

const MINUTE_MS = 60_000;

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

  it('hands the next caller every send that still holds a place in the budget', () => {
    const clock = new JumpingClock();
    const log = new SendLog();
    log.record('form/user/list', clock.now());

    clock.advance(MINUTE_MS + SEND_SKEW_MS / 2);
    const held = SendLog.from(log.toShared(clock.now())).inMinute('form/user/list', clock.now());
    clock.advance(SEND_SKEW_MS);
    const released = log.toShared(clock.now()).seconds['form/user/list'];

    expect(held).toBe(1);
    expect(released).toBeUndefined();
  });
});
