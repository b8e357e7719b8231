import { describe, expect, it } from 'vitest';

import type { WeibanSimulator } from '../../../dev/simulator/index.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import {
  GROUP_LIST_PATH,
  LIST_PATH,
  errorOf,
  issueToken,
  request,
  simulators,
  until,
} from './support.js';

const FORM = 842;

async function listErrcodes(sim: WeibanSimulator, token: string, count: number): Promise<number[]> {
  const replies = await Promise.all(
    Array.from({ length: count }, () =>
      request(sim, LIST_PATH, { access_token: token, form_id: FORM, status: 'submit' }),
    ),
  );
  return replies.map((reply) => errorOf(reply).errcode);
}

async function listErrcode(sim: WeibanSimulator, token: string): Promise<number> {
  const [errcode] = await listErrcodes(sim, token, 1);
  if (errcode === undefined) throw new Error('no answer');
  return errcode;
}

describe('the simulated concurrency limit', () => {
  const started = simulators();

  it('answers 10052 to the fifth request while four are in processing', async () => {
    // Prepare
    const sim = await started({ latencyMs: 500 });
    const { access_token } = await issueToken(sim);
    sim.resetStats();

    // Act
    const errcodes = await listErrcodes(sim, access_token, 5);

    // Assess
    expect(errcodes.filter((code) => code === 10052)).toHaveLength(1);
    expect(errcodes.filter((code) => code === 0)).toHaveLength(4);
    expect(sim.stats()).toMatchObject({ maxInFlight: 5, errors: { '10052': 1 } });
  });

  it('serves four requests in processing at once without complaint', async () => {
    // Prepare
    const sim = await started({ latencyMs: 150 });
    const { access_token } = await issueToken(sim);

    // Act
    const errcodes = await listErrcodes(sim, access_token, 4);

    // Assess
    expect(errcodes).toEqual([0, 0, 0, 0]);
    expect(sim.stats().maxInFlight).toBe(4);
  });

  it('honours a lower maxInFlight and frees slots once answers are sent', async () => {
    // Prepare
    const sim = await started({ maxInFlight: 2, latencyMs: 150 });
    const { access_token } = await issueToken(sim);

    // Act
    const burst = await listErrcodes(sim, access_token, 3);
    const afterwards = await listErrcodes(sim, access_token, 2);

    // Assess
    expect([...burst].sort()).toEqual([0, 0, 10052]);
    expect(afterwards).toEqual([0, 0]);
  });

  it('counts a request as in flight while a slow fault delays its answer', async () => {
    // Prepare
    const sim = await started({ maxInFlight: 1 });
    const { access_token } = await issueToken(sim);
    sim.fault({ kind: 'slow', endpoint: 'list', delayMs: 200 });

    // Act
    const slow = listErrcode(sim, access_token);
    await until(() => sim.stats().requests.list === 1);
    const meanwhile = await listErrcode(sim, access_token);

    // Assess
    expect(meanwhile).toBe(10052);
    expect(await slow).toBe(0);
  });

  it('keeps a request the client abandoned in processing until its answer would have gone out', async () => {
    // Prepare
    const sim = await started({ maxInFlight: 1 });
    const { access_token } = await issueToken(sim);
    sim.fault({ kind: 'slow', endpoint: 'list', delayMs: 500 });
    const url = new URL(LIST_PATH, sim.url);
    url.search = new URLSearchParams({ access_token, form_id: '842', status: 'submit' }).toString();
    const abort = new AbortController();
    const abandoned = fetch(url, { signal: abort.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    await until(() => sim.stats().requests.list === 1);

    // Act
    abort.abort();
    const outcome = await abandoned;
    const whileProcessing = await listErrcode(sim, access_token);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const afterwards = await listErrcode(sim, access_token);

    // Assess
    expect(outcome).toBe('aborted');
    expect(whileProcessing).toBe(10052);
    expect(afterwards).toBe(0);
  });
});

describe('the simulated per-minute limit', () => {
  const started = simulators();

  async function limited(perMinute: number) {
    const clock = new VirtualClock();
    const sim = await started({ clock, perMinute, tokenTtlSeconds: 86_400 });
    const { access_token } = await issueToken(sim);
    return { clock, sim, token: access_token };
  }

  it('answers 10053 once an endpoint goes over perMinute in 60 s', async () => {
    // Prepare
    const { sim, token } = await limited(3);

    // Act
    const errcodes = [];
    for (let i = 0; i < 4; i += 1) errcodes.push(await listErrcode(sim, token));

    // Assess
    expect(errcodes).toEqual([0, 0, 0, 10053]);
    expect(sim.stats().errors['10053']).toBe(1);
  });

  it('blocks the endpoint for 60 s after a breach, and calls in the block do not extend it', async () => {
    // Prepare
    const { clock, sim, token } = await limited(3);
    for (let i = 0; i < 4; i += 1) await listErrcode(sim, token);

    // Act
    clock.advance(30_000);
    const midBlock = await listErrcode(sim, token);
    clock.advance(29_000);
    const nearEnd = await listErrcode(sim, token);
    clock.advance(1_000);
    const afterBlock = await listErrcode(sim, token);

    // Assess
    expect([midBlock, nearEnd, afterBlock]).toEqual([10053, 10053, 0]);
    expect(sim.stats().errors['10053']).toBe(3);
  });

  it('limits each endpoint on its own', async () => {
    // Prepare
    const { sim, token } = await limited(2);
    for (let i = 0; i < 3; i += 1) await listErrcode(sim, token);

    // Act
    const groups = await request(sim, GROUP_LIST_PATH, { access_token: token });
    const list = await listErrcode(sim, token);

    // Assess
    expect(errorOf(groups).errcode).toBe(0);
    expect(list).toBe(10053);
  });

  it('rolls the window: calls older than 60 s stop counting', async () => {
    // Prepare
    const { clock, sim, token } = await limited(3);
    for (let i = 0; i < 3; i += 1) await listErrcode(sim, token);

    // Act
    clock.advance(60_000);
    const errcodes = [];
    for (let i = 0; i < 3; i += 1) errcodes.push(await listErrcode(sim, token));

    // Assess
    expect(errcodes).toEqual([0, 0, 0]);
    expect(sim.stats().peakPerMinute.list).toBe(3);
  });

  it('reports the busiest rolling minute per endpoint, blocked calls included', async () => {
    // Prepare
    const { clock, sim, token } = await limited(2);
    sim.resetStats();

    // Act
    for (let i = 0; i < 5; i += 1) await listErrcode(sim, token);
    clock.advance(120_000);
    await listErrcode(sim, token);

    // Assess
    expect(sim.stats().peakPerMinute).toEqual({ token: 0, list: 5, submissions: 0, groups: 0 });
    expect(sim.stats().errors['10053']).toBe(3);
  });
});
