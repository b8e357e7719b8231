import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { RateSync, type RateLedgerStore } from '../../lib/rate-sync.js';
import { WeibanLimiter, type LimiterSnapshot } from '../../lib/weiban/limiter.js';

const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };

class MemoryRateLedger implements RateLedgerStore {
  saved: LimiterSnapshot | undefined;
  saves = 0;
  load = () => Promise.resolve(this.saved);
  save = (snapshot: LimiterSnapshot) => {
    this.saves += 1;
    this.saved = structuredClone(snapshot);
    return Promise.resolve();
  };
}

function container(store: RateLedgerStore, clock: VirtualClock, perMinute = 500) {
  const sync = new RateSync({ store, clock, log, perMinute });
  const limiter = new WeibanLimiter({
    maxInFlight: 4,
    perMinute,
    clock,
    onSend: sync.onSend,
    onBlock: sync.onBlock,
  });
  sync.attach(limiter);
  return { sync, limiter };
}

const send = (limiter: WeibanLimiter, count: number) =>
  Promise.all(
    Array.from({ length: count }, () =>
      limiter.schedule('form/user/list', () => Promise.resolve()),
    ),
  );

describe('RateSync', () => {
  it('saves nothing after a quiet run: an idle tick costs no write', async () => {
    const store = new MemoryRateLedger();
    const { sync, limiter } = container(store, new VirtualClock());

    await sync.restoreOnce();
    await send(limiter, 100);
    await sync.settle();

    expect(store.saves).toBe(0);
  });

  it('saves after every 101 sends of a busy run and at its end, so a successor never misses more than the headroom', async () => {
    const store = new MemoryRateLedger();
    const { sync, limiter } = container(store, new VirtualClock());

    await send(limiter, 350);
    await sync.settle();

    expect(store.saves).toBe(4);
    expect(store.saved?.sent['form/user/list']).toHaveLength(350);
  });

  it('saves nothing over many quiet ticks, however many sends they add up to', async () => {
    const clock = new VirtualClock();
    const store = new MemoryRateLedger();
    const { sync, limiter } = container(store, clock);

    for (let tick = 0; tick < 12; tick += 1) {
      await send(limiter, 100);
      await sync.settle();
      clock.advance(61_000);
    }

    expect(store.saves).toBe(0);
  });

  it('makes a new container wait out the budget the last one spent this minute', async () => {
    const clock = new VirtualClock({ scale: 1_000 });
    const store = new MemoryRateLedger();
    const first = container(store, clock);
    await send(first.limiter, 500);
    await first.sync.settle();
    const sentBefore = clock.now();

    const second = container(store, clock);
    await second.sync.restoreOnce();
    await send(second.limiter, 1);

    expect(clock.now() - sentBefore).toBeGreaterThan(50_000);
  });

  it('carries a 10053 block over to the next container at once', async () => {
    const clock = new VirtualClock();
    const store = new MemoryRateLedger();
    const first = container(store, clock);
    const until = clock.now() + 60_000;
    first.limiter.block('form/user/list', until);
    await first.sync.settle();

    const second = container(store, clock);
    await second.sync.restoreOnce();

    expect(second.limiter.blockedUntil('form/user/list')).toBe(until);
    expect(store.saves).toBe(1);
  });

  it('paces on alone when the ledger cannot be read', async () => {
    const store = new MemoryRateLedger();
    store.load = () => Promise.reject(new Error('throttled'));
    const { sync, limiter } = container(store, new VirtualClock());

    await sync.restoreOnce();
    await send(limiter, 1);

    expect(log.warn).toHaveBeenCalledWith(
      'could not load recent Weiban sends; pacing from this process alone',
      {
        error: 'Error: throttled',
      },
    );
  });
});
