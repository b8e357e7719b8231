import { describe, expect, it } from 'vitest';

import { WeibanSimulator, type TimeFilter } from '../../../dev/simulator/index.js';
import { LIST_PATH, errorOf, issueToken, listPage, request, simulators, uIds } from './support.js';

const FORM = 842;

/** Rows 1..5 of form 842 at submit_at 100, 200, 300, 400, 500. */
function fiveRows(sim: WeibanSimulator): void {
  [100, 200, 300, 400, 500].forEach((at, i) => sim.submit(FORM, { u_id: i + 1, submit_at: at }));
}

describe('the simulated time filter variants', () => {
  const started = simulators();

  it.each<[TimeFilter, number[]]>([
    ['exact', [4, 3, 2]],
    ['exclusive-start', [4, 3]],
    ['exclusive-end', [3, 2]],
    ['exclusive-both', [3]],
    ['ignored', [5, 4, 3, 2, 1]],
  ])('with %s, start_time 200 and end_time 400 list %j', async (timeFilter, expected) => {
    // Prepare
    const sim = await started({ timeFilter });
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const page = await listPage(sim, token, {
      form_id: FORM,
      limit: 10,
      start_time: 200,
      end_time: 400,
    });

    // Assess
    expect(uIds(page)).toEqual(expected);
    expect(page.total).toBe(expected.length);
  });

  it.each<[TimeFilter, number[]]>([
    ['exact', [3]],
    ['exclusive-start', []],
    ['exclusive-end', []],
    ['exclusive-both', []],
    ['ignored', [5, 4, 3, 2, 1]],
  ])('with %s, a one-second window at a row lists %j', async (timeFilter, expected) => {
    // Prepare
    const sim = await started({ timeFilter });
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const page = await listPage(sim, token, {
      form_id: FORM,
      limit: 10,
      start_time: 300,
      end_time: 300,
    });

    // Assess
    expect(uIds(page)).toEqual(expected);
  });

  it.each<[TimeFilter, Record<string, number>, number[]]>([
    ['exact', { end_time: 300 }, [3, 2, 1]],
    ['exclusive-end', { end_time: 300 }, [2, 1]],
    ['exclusive-start', { start_time: 300 }, [5, 4]],
    ['exclusive-both', { start_time: 300 }, [5, 4]],
  ])('with %s, a lone bound %j still applies', async (timeFilter, bound, expected) => {
    // Prepare
    const sim = await started({ timeFilter });
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 10, ...bound });

    // Assess
    expect(uIds(page)).toEqual(expected);
  });

  it('pages within an off-by-one window in ascending order too', async () => {
    // Prepare
    const sim = await started({ timeFilter: 'exclusive-end', order: 'asc' });
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const first = await listPage(sim, token, {
      form_id: FORM,
      limit: 2,
      offset: 0,
      start_time: 100,
      end_time: 500,
    });
    const second = await listPage(sim, token, {
      form_id: FORM,
      limit: 2,
      offset: 2,
      start_time: 100,
      end_time: 500,
    });

    // Assess
    expect(uIds(first)).toEqual([1, 2]);
    expect(uIds(second)).toEqual([3, 4]);
    expect(second.total).toBe(4);
  });

  it('still takes filterByTime: false for an ignored filter', async () => {
    // Prepare
    const sim = await started({ filterByTime: false });
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const page = await listPage(sim, token, {
      form_id: FORM,
      limit: 10,
      start_time: 250,
      end_time: 260,
    });

    // Assess
    expect(page.total).toBe(5);
  });

  it('refuses filterByTime and timeFilter that contradict each other', () => {
    expect(() => new WeibanSimulator({ filterByTime: true, timeFilter: 'ignored' })).toThrow(
      /filterByTime: true contradicts timeFilter: 'ignored'/,
    );
  });
});

describe('the simulated form_id variants', () => {
  const started = simulators();

  it('answers 21901 without form_id by default', async () => {
    // Prepare
    const sim = await started();
    fiveRows(sim);
    const token = (await issueToken(sim)).access_token;

    // Act
    const reply = await request(sim, LIST_PATH, { access_token: token, status: 'submit' });

    // Assess
    expect(errorOf(reply).errcode).toBe(21901);
  });

  it('lists every form of the corp without form_id when it is optional', async () => {
    // Prepare
    const sim = await started({ formIdRequired: false });
    sim.submit(842, { u_id: 1, submit_at: 100 });
    sim.submit(901, { u_id: 2, submit_at: 300 });
    sim.submit(842, { u_id: 3, submit_at: 200 });
    sim.submit(977, { u_id: 4, submit_at: 400, status: 'draft' });
    const token = (await issueToken(sim)).access_token;

    // Act
    const corp = await listPage(sim, token, { limit: 10 });
    const one = await listPage(sim, token, { form_id: 842, limit: 10 });

    // Assess
    expect(corp.result.map((row) => [row.form_id, row.u_id])).toEqual([
      [901, 2],
      [842, 3],
      [842, 1],
    ]);
    expect(corp.total).toBe(3);
    expect(uIds(one)).toEqual([3, 1]);
    expect(sim.stats().listCalls[0]).toEqual({ offset: 0, limit: 10 });
  });

  it('pages the corp listing in the same order, filters it by time and breaks ties by form', async () => {
    // Prepare
    const sim = await started({ formIdRequired: false, order: 'asc' });
    sim.submit(901, { u_id: 7, submit_at: 100 });
    sim.submit(842, { u_id: 7, submit_at: 100 });
    sim.submit(842, { u_id: 8, submit_at: 200 });
    sim.submit(901, { u_id: 9, submit_at: 300 });
    sim.submit(901, { u_id: 10, submit_at: 400 });
    const token = (await issueToken(sim)).access_token;

    // Act
    const first = await listPage(sim, token, { limit: 2, offset: 0, end_time: 300 });
    const second = await listPage(sim, token, { limit: 2, offset: 2, end_time: 300 });

    // Assess
    expect(first.result.map((row) => [row.form_id, row.u_id])).toEqual([
      [842, 7],
      [901, 7],
    ]);
    expect(second.result.map((row) => [row.form_id, row.u_id])).toEqual([
      [842, 8],
      [901, 9],
    ]);
    expect(second.total).toBe(4);
  });

  it('keeps a resubmitted row in its new place in the corp listing', async () => {
    // Prepare
    const sim = await started({ formIdRequired: false });
    sim.submit(842, { u_id: 1, submit_at: 100 });
    sim.submit(901, { u_id: 2, submit_at: 200 });
    sim.resubmit(842, 1, 300);
    const token = (await issueToken(sim)).access_token;

    // Act
    const corp = await listPage(sim, token, { limit: 10 });

    // Assess
    expect(corp.result.map((row) => [row.u_id, row.submit_at])).toEqual([
      [1, 300],
      [2, 200],
    ]);
    expect(corp.total).toBe(2);
  });

  it('counts a corp page as a page of each form for rows inserted while paging', async () => {
    // Prepare
    const sim = await started({ formIdRequired: false });
    sim.submit(842, { u_id: 1, submit_at: 100 });
    sim.insertWhilePaging(842, 1, [{ u_id: 2, submit_at: 150 }]);
    const token = (await issueToken(sim)).access_token;

    // Act
    const before = await listPage(sim, token, { limit: 10 });
    const after = await listPage(sim, token, { limit: 10 });

    // Assess
    expect(uIds(before)).toEqual([1]);
    expect(uIds(after)).toEqual([2, 1]);
  });
});

describe('the simulated token variants', () => {
  const started = simulators();

  const listWith = async (sim: WeibanSimulator, token: string) =>
    errorOf(await request(sim, LIST_PATH, { access_token: token, form_id: FORM, status: 'submit' }))
      .errcode;

  it('keeps an older token working after a new one by default', async () => {
    // Prepare
    const sim = await started();
    sim.addForm(FORM);
    const first = await issueToken(sim);

    // Act
    const second = await issueToken(sim);

    // Assess
    expect(await listWith(sim, first.access_token)).toBe(0);
    expect(await listWith(sim, second.access_token)).toBe(0);
  });

  it('ends every older token with 10001 when a new token ends the old', async () => {
    // Prepare
    const sim = await started({ newTokenEndsOld: true });
    sim.addForm(FORM);
    const first = await issueToken(sim);
    const second = await issueToken(sim);

    // Act
    const third = await issueToken(sim);

    // Assess
    expect(await listWith(sim, first.access_token)).toBe(10001);
    expect(await listWith(sim, second.access_token)).toBe(10001);
    expect(await listWith(sim, third.access_token)).toBe(0);
  });
});
