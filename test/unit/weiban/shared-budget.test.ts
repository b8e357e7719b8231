import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { Clock } from '../../../lib/clock.js';
import { FrequencyLimitError, RateLimitedError } from '../../../lib/weiban/errors.js';
import { HOLD_SEND_MS, WeibanLimiter } from '../../../lib/weiban/limiter.js';
import { JumpingClock, ManualClock, settle } from '../../support/jumping-clock.js';
import { MemoryBudgetStore } from '../../support/memory-budget.js';

const LIST = 'form/user/list';
const REQUEST_TIMEOUT_MS = 10_000;

/** One caller of the corp: a container, the CLI or a local run, each with its own limiter. */
function caller(
  store: MemoryBudgetStore,
  clock: Clock,
  owner: string,
  budget: { perMinute?: number; perHour?: number } = {},
) {
  return new WeibanLimiter({
    maxInFlight: 4,
    perMinute: budget.perMinute ?? 500,
    ...(budget.perHour !== undefined && { perHour: budget.perHour }),
    clock,
    abandonedHoldMs: REQUEST_TIMEOUT_MS,
    shared: { store, owner, label: owner },
  });
}

/** Counts requests in processing at "Weiban", whoever sent them. */
function weiban(clock: Clock) {
  const state = { inFlight: 0, peak: 0, arrivals: [] as { owner: string; at: number }[] };
  const request = (owner: string, ms: number) => async () => {
    state.inFlight += 1;
    state.peak = Math.max(state.peak, state.inFlight);
    state.arrivals.push({ owner, at: clock.now() });
    await clock.sleep(ms);
    state.inFlight -= 1;
  };
  return { state, request };
}

describe('the corp budget shared by every caller (G4 across processes)', () => {
  it('never lets two callers have more than 4 requests in flight at Weiban together', async () => {
    const clock = new VirtualClock({ scale: 100 });
    const store = new MemoryBudgetStore();
    const server = weiban(clock);
    const poller = caller(store, clock, 'poller');
    const backfill = caller(store, clock, 'backfill');
    const run = async (limiter: WeibanLimiter, owner: string) => {
      await Promise.all(
        Array.from({ length: 12 }, () => limiter.schedule(LIST, server.request(owner, 2_000))),
      );
      await limiter.release();
    };

    await Promise.all([run(poller, 'poller'), run(backfill, 'backfill')]);

    expect(server.state.peak).toBe(4);
    expect(server.state.arrivals).toHaveLength(24);
    expect(new Set(server.state.arrivals.map((arrival) => arrival.owner))).toEqual(
      new Set(['poller', 'backfill']),
    );
  });

  it('keeps the corp slots of a caller that died with requests in flight until Weiban is done with them', async () => {
    const clock = new JumpingClock();
    const store = new MemoryBudgetStore();
    const dead = caller(store, clock, 'dead');
    const started = clock.now();
    // Four requests that never answer: the process is gone, Weiban still works on them.
    for (let i = 0; i < 4; i += 1) {
      void dead.schedule(LIST, () => new Promise<never>(() => undefined)).catch(() => undefined);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const successor = caller(store, clock, 'successor');
    let sentAt = 0;

    await successor.schedule(LIST, () => {
      sentAt = clock.now();
      return Promise.resolve();
    });

    expect(sentAt).toBeGreaterThanOrEqual(started + HOLD_SEND_MS + REQUEST_TIMEOUT_MS);
  });

  it("counts the sends a dead caller may have made unseen against the successor's minute", async () => {
    const clock = new JumpingClock();
    const store = new MemoryBudgetStore();
    const dead = caller(store, clock, 'dead', { perMinute: 20 });
    await Promise.all(
      Array.from({ length: 4 }, () => dead.schedule(LIST, () => Promise.resolve())),
    );
    const successor = caller(store, clock, 'successor', { perMinute: 20 });
    clock.advance(HOLD_SEND_MS + REQUEST_TIMEOUT_MS);

    await successor.schedule(LIST, () => Promise.resolve());

    // The dead caller wrote nothing: its quota of unseen sends stands in for the 4 it made.
    expect(successor.inLastMinute(LIST)).toBeGreaterThanOrEqual(4 + 1);
  });

  it('keeps a successor inside the minute budget its predecessor used up', async () => {
    const clock = new JumpingClock();
    const store = new MemoryBudgetStore();
    const first = caller(store, clock, 'first', { perMinute: 5 });
    const firstSentAt = clock.now();
    await Promise.all(
      Array.from({ length: 5 }, () => first.schedule(LIST, () => Promise.resolve())),
    );
    await first.release();
    const second = caller(store, clock, 'second', { perMinute: 5 });
    let sentAt = 0;

    await second.schedule(LIST, () => {
      sentAt = clock.now();
      return Promise.resolve();
    });

    expect(sentAt - firstSentAt).toBeGreaterThanOrEqual(60_000);
  });

  it('keeps every caller inside the hourly budget', async () => {
    const clock = new JumpingClock(1_800_000_000_000 - (1_800_000_000_000 % 60_000));
    const store = new MemoryBudgetStore();
    const budget = { perMinute: 10, perHour: 30 };
    const first = caller(store, clock, 'first', budget);
    const times: number[] = [];
    const send = (limiter: WeibanLimiter) =>
      limiter.schedule(LIST, () => {
        times.push(clock.now());
        return Promise.resolve();
      });
    for (let i = 0; i < 30; i += 1) await send(first);
    await first.release();
    const second = caller(store, clock, 'second', budget);

    await send(second);

    const last = times.at(-1) ?? 0;
    expect(times.filter((at) => at > last - 3_600_000).length).toBeLessThanOrEqual(30);
    expect(last - (times[0] ?? 0)).toBeGreaterThanOrEqual(3_600_000);
  });

  it('gives the budget up at the end of a unit of work when another caller waits for it', async () => {
    const clock = new ManualClock();
    const store = new MemoryBudgetStore();
    const poller = caller(store, clock, 'poller');
    await poller.schedule(LIST, () => Promise.resolve());
    const backfill = caller(store, clock, 'backfill');
    let backfillSentAt = 0;
    const waiting = backfill.schedule(LIST, () => {
      backfillSentAt = clock.now();
      return Promise.resolve();
    });
    await settle();
    // The poller's next unit of work: it learns of the waiter when it takes the budget again.
    await clock.advance(HOLD_SEND_MS);
    await poller.schedule(LIST, () => Promise.resolve());
    const yieldedAt = clock.now();

    await poller.yieldIfWanted();
    await clock.advance(1_000);
    await waiting;

    expect(store.record?.holder?.owner).toBe('backfill');
    // Long before the poller's hold would have run out on its own.
    expect(backfillSentAt - yieldedAt).toBeLessThan(HOLD_SEND_MS);
  });

  it('keeps the budget without a write at the end of a unit of work when nobody waits', async () => {
    const clock = new JumpingClock();
    const store = new MemoryBudgetStore();
    const poller = caller(store, clock, 'poller');
    await Promise.all(
      Array.from({ length: 3 }, () => poller.schedule(LIST, () => Promise.resolve())),
    );
    const writes = store.requests.writes;

    await poller.yieldIfWanted();

    expect(writes).toBe(1);
    expect(store.requests.writes).toBe(writes);
    expect(store.record?.holder?.owner).toBe('poller');
  });

  it('honours a block another caller saw, without calling the endpoint', async () => {
    const clock = new JumpingClock();
    const store = new MemoryBudgetStore();
    const first = caller(store, clock, 'first');
    await expect(
      first.schedule(LIST, () =>
        Promise.reject(new FrequencyLimitError(LIST, 10053, 'frequency limit')),
      ),
    ).rejects.toBeInstanceOf(RateLimitedError);
    await first.release();
    const second = caller(store, clock, 'second');
    await second.schedule('access_token/get', () => Promise.resolve());
    let called = false;

    const refused = second.schedule(LIST, () => {
      called = true;
      return Promise.resolve();
    });

    await expect(refused).rejects.toBeInstanceOf(RateLimitedError);
    expect(called).toBe(false);
  });
});
