import { describe, expect, it } from 'vitest';

import type { WeibanSimulator } from '../../../dev/simulator/index.js';
import {
  LIST_PATH,
  errorOf,
  issueToken,
  listPage,
  readAllPages,
  request,
  simulators,
  uIds,
} from './support.js';

const FORM = 842;

describe('the simulated form/user/list endpoint', () => {
  const started = simulators();

  async function withToken(sim: WeibanSimulator): Promise<string> {
    return (await issueToken(sim)).access_token;
  }

  it('pages newest first with limit and offset, and total counts every match', async () => {
    // Prepare
    const sim = await started();
    sim.submitMany(FORM, 25, (i) => ({ u_id: 101 + i, submit_at: 1_700_000_000 + i }));
    const token = await withToken(sim);

    // Act
    const first = await listPage(sim, token, { form_id: FORM, limit: 10, offset: 0 });
    const last = await listPage(sim, token, { form_id: FORM, limit: 10, offset: 20 });
    const beyond = await listPage(sim, token, { form_id: FORM, limit: 10, offset: 30 });

    // Assess
    expect(first.total).toBe(25);
    expect(uIds(first)).toEqual([125, 124, 123, 122, 121, 120, 119, 118, 117, 116]);
    expect(uIds(last)).toEqual([105, 104, 103, 102, 101]);
    expect(beyond).toMatchObject({ total: 25, result: [] });
  });

  it('breaks submit_at ties by u_id, descending', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 7, submit_at: 500 });
    sim.submit(FORM, { u_id: 9, submit_at: 500 });
    sim.submit(FORM, { u_id: 8, submit_at: 400 });
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 10 });

    // Assess
    expect(uIds(page)).toEqual([9, 7, 8]);
  });

  it('serves oldest first when the order is asc', async () => {
    // Prepare
    const sim = await started({ order: 'asc' });
    sim.submitMany(FORM, 5, (i) => ({ u_id: 11 + i, submit_at: 1_000 + i }));
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 3, offset: 1 });

    // Assess
    expect(uIds(page)).toEqual([12, 13, 14]);
    expect(sim.rows(FORM).map((row) => row.u_id)).toEqual([11, 12, 13, 14, 15]);
  });

  it('places a late arrival by its submit_at, not at the top', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 1, submit_at: 100 });
    sim.submit(FORM, { u_id: 2, submit_at: 300 });
    sim.submit(FORM, { u_id: 3, submit_at: 200 });
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 10 });

    // Assess
    expect(uIds(page)).toEqual([2, 3, 1]);
  });

  it.each([
    ['both bounds', { start_time: 200, end_time: 300 }, [3, 2]],
    ['start_time alone', { start_time: 300 }, [4, 3]],
    ['end_time alone', { end_time: 100 }, [1]],
    ['a window with no rows', { start_time: 201, end_time: 299 }, []],
  ])('filters submit_at inclusively with %s', async (_label, window, expected) => {
    // Prepare
    const sim = await started();
    [100, 200, 300, 400].forEach((at, i) => sim.submit(FORM, { u_id: i + 1, submit_at: at }));
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 10, ...window });

    // Assess
    expect(uIds(page)).toEqual(expected);
    expect(page.total).toBe(expected.length);
  });

  it('ignores start_time and end_time when filterByTime is false', async () => {
    // Prepare
    const sim = await started({ filterByTime: false });
    [100, 200, 300].forEach((at, i) => sim.submit(FORM, { u_id: i + 1, submit_at: at }));
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, {
      form_id: FORM,
      limit: 10,
      start_time: 250,
      end_time: 260,
    });

    // Assess
    expect(page.total).toBe(3);
    expect(uIds(page)).toEqual([3, 2, 1]);
  });

  it('returns only rows with the asked status', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 1, submit_at: 100 });
    sim.submit(FORM, { u_id: 2, submit_at: 200, status: 'draft' });
    sim.submit(FORM, { u_id: 3, submit_at: 300 });
    const token = await withToken(sim);

    // Act
    const submitted = await listPage(sim, token, { form_id: FORM, limit: 10 });
    const drafts = await listPage(sim, token, { form_id: FORM, limit: 10, status: 'draft' });

    // Assess
    expect(uIds(submitted)).toEqual([3, 1]);
    expect(uIds(drafts)).toEqual([2]);
  });

  it('matches city as part of user_city and pages within the matches', async () => {
    // Prepare
    const sim = await started();
    const cities = ['武汉市', '上海市', '武汉市', '武汉市', '北京市'];
    cities.forEach((city, i) =>
      sim.submit(FORM, { u_id: i + 1, submit_at: 100 + i, user_city: city }),
    );
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 2, offset: 1, city: '武汉' });

    // Assess
    expect(page.total).toBe(3);
    expect(uIds(page)).toEqual([3, 1]);
  });

  it('answers an unknown form with total 0 and no rows', async () => {
    // Prepare
    const sim = await started();
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: 999, limit: 10 });

    // Assess
    expect(page).toEqual({ errcode: 0, errmsg: 'ok', total: 0, result: [] });
  });

  it.each([
    ['a missing status', { status: undefined }],
    ['an empty status', { status: '' }],
    ['a non-numeric limit', { limit: 'ten' }],
    ['a non-numeric offset', { offset: '1e3' }],
    ['a negative offset', { offset: -10 }],
    ['a zero limit', { limit: 0 }],
    ['a limit above maxLimit', { limit: 51 }],
    ['a non-numeric start_time', { start_time: '2024-01-01' }],
    ['a missing form_id', { form_id: undefined }],
  ])('answers 21901 to %s', async (_label, params) => {
    // Prepare
    const sim = await started({ maxLimit: 50 });
    const token = await withToken(sim);

    // Act
    const reply = await request(sim, LIST_PATH, {
      access_token: token,
      form_id: FORM,
      status: 'submit',
      limit: 10,
      ...params,
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(errorOf(reply).errcode).toBe(21901);
  });

  it('accepts a limit equal to maxLimit', async () => {
    // Prepare
    const sim = await started({ maxLimit: 50 });
    sim.submitMany(FORM, 60);
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 50 });

    // Assess
    expect(page.result).toHaveLength(50);
    expect(page.total).toBe(60);
  });

  it('fills rows with the documented fields and Chinese sample values', async () => {
    // Prepare
    const sim = await started();
    sim.addForm(FORM, '报名表');
    const added = sim.submit(FORM, { u_id: 768, submit_at: 1_619_613_511 });
    const token = await withToken(sim);

    // Act
    const page = await listPage(sim, token, { form_id: FORM, limit: 1 });

    // Assess
    expect(page.result).toEqual([added]);
    expect(added).toMatchObject({ form_id: FORM, form_name: '报名表', status: 'submit' });
    expect(added.user_city).toMatch(/市$/);
    expect(added.external_user_id).toMatch(/^wm/);
    expect(added.avatar).toMatch(/^https:\/\//);
  });

  it('pages through 10,000 rows in order', async () => {
    // Prepare
    const sim = await started();
    sim.submitMany(FORM, 10_000, (i) => ({ submit_at: 1_700_000_000 - i }));
    const token = await withToken(sim);

    // Act
    const seen = await readAllPages(sim, token, FORM, 100);

    // Assess
    expect(seen).toEqual(sim.rows(FORM).map((row) => row.u_id));
    expect(new Set(seen).size).toBe(10_000);
  });
});
