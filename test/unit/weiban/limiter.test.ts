import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { RateLimitedError } from '../../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../../lib/weiban/limiter.js';

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
    const clock = new VirtualClock({ scale: 10_000 });
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 5, clock });
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

  it('refuses to call a blocked endpoint until the block ends, without calling it', async () => {
    const clock = new VirtualClock();
    const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
    limiter.block('list', clock.now() + 60_000);
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
});
