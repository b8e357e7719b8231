import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { TokenProvider, type FetchedToken } from '../../../lib/weiban/token.js';
import { MemoryTokenStore } from '../../support/memory-token-store.js';

function setup(
  fetched: () => Promise<FetchedToken>,
  store = new MemoryTokenStore(),
  clock = new VirtualClock({ scale: 1_000 }),
) {
  const fetchToken = vi.fn((_signal?: AbortSignal) => fetched());
  const provider = (owner: string) =>
    new TokenProvider({ store, fetchToken, clock, owner, fallbackTtlSeconds: 7200, pollMs: 20 });
  return { fetchToken, store, clock, provider };
}

let issued = 0;
const fresh =
  (expiresIn: number | undefined = 7200) =>
  () => {
    issued += 1;
    return Promise.resolve({ accessToken: `token-${issued}`, expiresIn });
  };

describe('TokenProvider', () => {
  it('fetches once and serves later calls from memory', async () => {
    const { fetchToken, provider } = setup(fresh());
    const tokens = provider('a');

    const first = await tokens.get();
    const second = await tokens.get();

    expect(second).toBe(first);
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('caches until expires_in − 300 s, then refreshes', async () => {
    const { fetchToken, provider, clock, store } = setup(
      fresh(7200),
      undefined,
      new VirtualClock(),
    );
    const tokens = provider('a');
    const fetchedAt = clock.now();
    const first = await tokens.get();

    expect((store.shared?.refreshAt ?? 0) - fetchedAt).toBeGreaterThanOrEqual(6_900_000);
    expect((store.shared?.refreshAt ?? 0) - fetchedAt).toBeLessThan(6_901_000);
    clock.advance(6_898_000);
    expect(await tokens.get()).toBe(first);
    clock.advance(3_000);
    expect(await tokens.get()).not.toBe(first);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('uses the shared token another poller stored instead of fetching (G5)', async () => {
    const { fetchToken, provider } = setup(fresh());
    const stored = await provider('a').get();

    expect(await provider('b').get()).toBe(stored);
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('lets exactly one of many concurrent pollers fetch: no stampede', async () => {
    const { fetchToken, provider, store } = setup(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return fresh()();
      },
      undefined,
      new VirtualClock(),
    );

    const tokens = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((owner) => provider(owner).get()),
    );

    expect(new Set(tokens).size).toBe(1);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(store.locksTaken).toBe(1);
  });

  it('replaces a token Weiban refused, once, even when many callers report it', async () => {
    const { fetchToken, provider } = setup(fresh());
    const tokens = provider('a');
    const bad = await tokens.get();

    const replacements = await Promise.all([
      tokens.replace(bad),
      tokens.replace(bad),
      tokens.replace(bad),
    ]);

    expect(new Set(replacements).size).toBe(1);
    expect(replacements[0]).not.toBe(bad);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('takes the token another poller already refreshed when its own was refused', async () => {
    const { fetchToken, provider } = setup(fresh());
    const a = provider('a');
    const b = provider('b');
    const bad = await a.get();
    await b.get();
    const refreshedByA = await a.replace(bad);

    expect(await b.replace(bad)).toBe(refreshedByA);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('assumes the fallback lifetime when Weiban sends no expires_in', async () => {
    const { provider, store, clock } = setup(fresh(undefined));

    await provider('a').get();

    expect((store.shared?.refreshAt ?? 0) - clock.now()).toBeGreaterThan(6_890_000);
  });

  it('releases the lock when the fetch fails, so the next try is not blocked', async () => {
    const failing = vi
      .fn()
      .mockRejectedValueOnce(new Error('weiban down'))
      .mockImplementation(fresh());
    const { provider, store } = setup(() => failing() as Promise<FetchedToken>);

    await expect(provider('a').get()).rejects.toThrow('weiban down');
    expect(store.lock).toBeUndefined();
    await expect(provider('a').get()).resolves.toMatch(/^token-/);
  });
});
