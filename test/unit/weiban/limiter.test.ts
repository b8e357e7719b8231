import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { FrequencyLimitError, RateLimitedError } from '../../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../../lib/weiban/limiter.js';
import { JumpingClock, ManualClock, settle } from '../../support/jumping-clock.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WeibanLimiter', () => {
  it('never lets more than maxInFlight requests run at once', async () => {
    const limiter = new WeibanLimiter({
      maxInFlight: 4,
      perMinute: 600,
      clock: new VirtualClock(),
    });
    let running = 0;
    let peak = 0;
    const task = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await tick();
      await tick();
      running -= 1;
    };

    await Promise.all(Array.from({ length: 20 }, () => limiter.schedule('list', task)));

    expect(peak).toBe(4);
    expect(limiter.stats()).toEqual({ calls: { list: 20 }, maxInFlight: 4 });
  });

  it('holds the per-endpoint budget over a rolling minute, and only for that endpoint', async () => {
    const clock = new JumpingClock();
    // One at a time: each wait jumps this clock, so waits must not overlap.
    const limiter = new WeibanLimiter({ maxInFlight: 1, perMinute: 5, clock });
    const sentAt: number[] = [];

    await Promise.all(
      Array.from({ length: 12 }, () =>
        limiter.schedule('list', () => {
          sentAt.push(clock.now());
          return Promise.resolve();
        }),
      ),
    );
    await limiter.schedule('token', () => Promise.resolve());

    const worstMinute = Math.max(
      ...sentAt.map((t) => sentAt.filter((s) => s >= t && s < t + 60_000).length),
    );
    expect(worstMinute).toBe(5);
    expect((sentAt.at(-1) ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(120_000);
    expect(limiter.stats().calls).toEqual({ list: 12, token: 1 });
  });

  it('blocks an endpoint for 60 s after a 10053, refusing calls to it without calling it', async () => {
    const clock = new VirtualClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    const breach = new FrequencyLimitError('list', 10053, 'frequency limit');
    await expect(limiter.schedule('list', () => Promise.reject(breach))).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    let called = false;

    await expect(
      limiter.schedule('list', () => {
        called = true;
        return Promise.resolve();
      }),
    ).rejects.toBeInstanceOf(RateLimitedError);
    await expect(
      limiter.schedule('token', () => Promise.resolve('other endpoints go on')),
    ).resolves.toBe('other endpoints go on');
    clock.advance(60_001);
    await expect(limiter.schedule('list', () => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(called).toBe(false);
  });

  it('takes a 10053 that persists past the 60 s block for the hourly block, then the daily one', async () => {
    const clock = new JumpingClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    const breach = () =>
      limiter.schedule('list', () =>
        Promise.reject(new FrequencyLimitError('list', 10053, 'frequency limit')),
      );
    const untils: number[] = [];

    for (let round = 0; round < 3; round += 1) {
      const started = clock.now();
      const error: unknown = await breach().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitedError);
      untils.push((error as RateLimitedError).until - started);
      expect(limiter.blockLevel('list')).toBe(round + 1);
      clock.advance((error as RateLimitedError).until - clock.now() + 1);
    }

    expect(untils).toEqual([60_000, 3_600_000, 86_400_000]);
  });

  it('starts again from the 60 s block when the last block ended long ago', async () => {
    const clock = new VirtualClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    const breach = () =>
      limiter
        .schedule('list', () =>
          Promise.reject(new FrequencyLimitError('list', 10053, 'frequency limit')),
        )
        .catch((caught: unknown) => caught as RateLimitedError);
    const first = await breach();
    clock.advance(first.until - clock.now() + 30 * 60_000);

    const second = await breach();

    expect(second.until - clock.now()).toBeLessThanOrEqual(60_000);
    expect(limiter.blockLevel('list')).toBe(1);
  });

  it('counts answers to requests already in flight when a block began as the same breach', async () => {
    const clock = new VirtualClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    const breaches = Array.from({ length: 4 }, () =>
      limiter
        .schedule('list', () =>
          Promise.reject(new FrequencyLimitError('list', 10053, 'frequency limit')),
        )
        .catch((caught: unknown) => caught),
    );

    await Promise.all(breaches);

    expect(limiter.blockLevel('list')).toBe(1);
  });

  it('gives up waiting for a slot when the signal aborts', async () => {
    const limiter = new WeibanLimiter({
      maxInFlight: 1,
      perMinute: 600,
      clock: new VirtualClock(),
    });
    let release = () => {};
    const busy = limiter.schedule(
      'list',
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    const controller = new AbortController();

    const waiting = limiter.schedule('list', () => Promise.resolve(), controller.signal);
    controller.abort(new Error('deadline'));

    await expect(waiting).rejects.toThrow('deadline');
    release();
    await busy;
    await expect(limiter.schedule('list', () => Promise.resolve('slot freed'))).resolves.toBe(
      'slot freed',
    );
  });

  it('keeps the slot of a request given up on, since Weiban may still be working on it', async () => {
    const limiter = new WeibanLimiter({
      maxInFlight: 1,
      perMinute: 600,
      clock: new VirtualClock(),
      abandonedHoldMs: 40,
    });
    const timedOut = Object.assign(new Error('no answer within 10000 ms'), { abandoned: true });
    await expect(limiter.schedule('list', () => Promise.reject(timedOut))).rejects.toBe(timedOut);
    let ran = false;

    const next = limiter.schedule('list', () => {
      ran = true;
      return Promise.resolve();
    });
    await tick();
    const ranBeforeTheHoldEnded = ran;
    await next;

    expect(ranBeforeTheHoldEnded).toBe(false);
    expect(ran).toBe(true);
  });

  it('frees the slot at once after an answer, even a failing one', async () => {
    const limiter = new WeibanLimiter({
      maxInFlight: 1,
      perMinute: 600,
      clock: new VirtualClock(),
      abandonedHoldMs: 60_000,
    });
    await expect(
      limiter.schedule('list', () => Promise.reject(new Error('HTTP 502'))),
    ).rejects.toThrow('HTTP 502');

    await expect(limiter.schedule('list', () => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('holds no slot for a request it never sent, given up on while waiting for budget', async () => {
    const clock = new ManualClock();
    const limiter = new WeibanLimiter({
      maxInFlight: 1,
      perMinute: 1,
      clock,
      abandonedHoldMs: 120_000,
    });
    await limiter.schedule('list', () => Promise.resolve());
    const controller = new AbortController();
    const waiting = limiter.schedule('list', () => Promise.resolve(), controller.signal);
    await settle();
    controller.abort(new DOMException('the deadline is near', 'TimeoutError'));
    await expect(waiting).rejects.toThrow('the deadline is near');
    let sentAt = 0;

    const next = limiter.schedule('list', () => {
      sentAt = clock.now();
      return Promise.resolve();
    });
    const budgetFree = clock.now() + 61_001;
    await clock.advance(61_001);
    await next;

    // The minute's budget was the only wait: no 120 s hold for the request never sent.
    expect(sentAt).toBe(budgetFree);
  });
});
