import { createHook } from 'node:async_hooks';
import { request as httpRequest } from 'node:http';
import { describe, expect, it, vi } from 'vitest';

import { WeibanSimulator } from '../../../dev/simulator/index.js';
import {
  GROUP_LIST_PATH,
  LIST_PATH,
  errorOf,
  issueToken,
  listPage,
  request,
  simulators,
} from './support.js';

const FORM = 842;

/**
 * Watches the timers created from now on. A count of the process's timers would also see the
 * test runner's own (vitest keeps one for about 100 ms after each test starts), so it changes
 * while a slow test runs; the timers made since `watchTimers()` are this test's alone.
 */
function watchTimers(): { pending(): Promise<number>; stop(): void } {
  const live = new Set<number>();
  const hook = createHook({
    init: (asyncId, type) => {
      if (type === 'Timeout') live.add(asyncId);
    },
    destroy: (asyncId) => {
      live.delete(asyncId);
    },
  }).enable();
  return {
    pending: async () => {
      // Node reports a cleared timer's end on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      return live.size;
    },
    stop: () => {
      hook.disable();
    },
  };
}

/** A GET with node:http and no agent: unlike fetch, the client side keeps no timer of its own. */
function getOnce(url: string): Promise<'answered' | 'cut'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve('answered');
      });
      res.on('error', () => {
        resolve('cut');
      });
    });
    req.on('error', () => {
      resolve('cut');
    });
    req.end();
  });
}

describe('the simulator server lifecycle', () => {
  const started = simulators();

  it('listens on a free 127.0.0.1 port and reports its base URL', async () => {
    // Prepare
    const sim = new WeibanSimulator();

    // Act
    const url = await sim.start();

    // Assess
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.url).toBe(url);
    } finally {
      await sim.stop();
    }
  });

  it('throws on url before start and after stop', async () => {
    // Prepare
    const sim = new WeibanSimulator();
    const before = () => sim.url;
    await sim.start();

    // Act
    await sim.stop();
    const after = () => sim.url;

    // Assess
    expect(before).toThrow(/not started/);
    expect(after).toThrow(/not started/);
  });

  it('refuses to start twice', async () => {
    // Prepare
    const sim = await started();

    // Act
    const again = sim.start();

    // Assess
    await expect(again).rejects.toThrow(/already started/);
  });

  it('stops at once, cutting short answers still waiting, and leaves no timer behind', async () => {
    // Prepare
    const timers = watchTimers();
    try {
      const sim = new WeibanSimulator({ latencyMs: 30_000 });
      const url = await sim.start();
      const pending = getOnce(`${url}${GROUP_LIST_PATH}`);
      await vi.waitUntil(() => sim.stats().requests.groups === 1);
      const waiting = await timers.pending();

      // Act: with a 30 s answer pending, stop() returning within the test's timeout is the proof.
      await sim.stop();

      // Assess
      expect(await pending).toBe('cut');
      expect(waiting).toBeGreaterThan(0);
      expect(await timers.pending()).toBe(0);
      await expect(getOnce(`${url}${GROUP_LIST_PATH}`)).resolves.toBe('cut');
    } finally {
      timers.stop();
    }
  });

  it.each([
    ['an unknown path', '/open-api/nope', undefined, 404],
    ['a POST to a GET endpoint', LIST_PATH, {}, 405],
  ])('answers %s with a JSON error and that status', async (_label, path, post, status) => {
    // Prepare
    const sim = await started();

    // Act
    const reply = await request(sim, path, {}, post);

    // Assess
    expect(reply.status).toBe(status);
    expect(errorOf(reply).errcode).toBe(status);
  });
});

describe('the simulator counters', () => {
  const started = simulators();

  it('counts requests per endpoint, faulted and rejected ones included', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);
    sim.fault({ kind: 'html502', endpoint: 'list' });

    // Act
    await request(sim, LIST_PATH, { access_token, form_id: FORM, status: 'submit' });
    await request(sim, LIST_PATH, { form_id: FORM, status: 'submit' });
    await request(sim, GROUP_LIST_PATH, { access_token });

    // Assess
    expect(sim.stats()).toMatchObject({
      requests: { token: 1, list: 2, submissions: 0, groups: 1 },
      errors: { '502': 1, '10001': 1 },
      maxInFlight: 1,
    });
  });

  it('logs each form/user/list call with the paging and time parameters sent', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);

    // Act
    await listPage(sim, access_token, { form_id: FORM, limit: 100, offset: 0 });
    await listPage(sim, access_token, {
      form_id: 901,
      limit: 50,
      offset: 50,
      start_time: 1_700_000_000,
      end_time: 1_700_000_600,
    });

    // Assess
    expect(sim.stats().listCalls).toEqual([
      { formId: FORM, offset: 0, limit: 100 },
      { formId: 901, offset: 50, limit: 50, start_time: 1_700_000_000, end_time: 1_700_000_600 },
    ]);
  });

  it('returns a snapshot that later requests do not change', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);
    const snapshot = sim.stats();

    // Act
    await listPage(sim, access_token, { form_id: FORM });

    // Assess
    expect(snapshot.requests.list).toBe(0);
    expect(snapshot.listCalls).toEqual([]);
    expect(sim.stats().requests.list).toBe(1);
  });

  it('zeroes every counter on resetStats', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);
    await request(sim, LIST_PATH, { access_token, form_id: FORM });
    await listPage(sim, access_token, { form_id: FORM });

    // Act
    sim.resetStats();

    // Assess
    expect(sim.stats()).toEqual({
      requests: { token: 0, list: 0, submissions: 0, groups: 0 },
      maxInFlight: 0,
      errors: {},
      peakPerMinute: { token: 0, list: 0, submissions: 0, groups: 0 },
      listCalls: [],
    });
  });
});
