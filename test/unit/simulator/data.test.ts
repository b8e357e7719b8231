import { describe, expect, it } from 'vitest';

import type { SimSubmission, WeibanSimulator } from '../../../dev/simulator/index.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import {
  LIST_PATH,
  SUBMIT_LIST_PATH,
  errorOf,
  groupList,
  issueToken,
  listPage,
  request,
  simulators,
  submitList,
  uIds,
} from './support.js';

const FORM = 842;

describe('rows inserted while a client pages', () => {
  const started = simulators();

  async function thirtyRows(): Promise<{ sim: WeibanSimulator; token: string }> {
    const sim = await started();
    sim.submitMany(FORM, 30, (i) => ({ u_id: i + 1, submit_at: 1_000 + i }));
    const { access_token } = await issueToken(sim);
    return { sim, token: access_token };
  }

  it('shifts later offsets so the next page repeats rows already seen', async () => {
    // Prepare
    const { sim, token } = await thirtyRows();
    sim.insertWhilePaging(FORM, 1, [{ u_id: 100 }, { u_id: 101 }]);

    // Act
    const first = await listPage(sim, token, { form_id: FORM, limit: 10, offset: 0 });
    const second = await listPage(sim, token, { form_id: FORM, limit: 10, offset: 10 });

    // Assess
    expect(uIds(first)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
    expect(first.total).toBe(30);
    expect(uIds(second).slice(0, 3)).toEqual([22, 21, 20]);
    expect(second.total).toBe(32);
    expect(
      sim
        .rows(FORM)
        .slice(0, 2)
        .map((row) => row.u_id),
    ).toEqual([101, 100]);
  });

  it('counts pages from the call, and only successful pages of that form', async () => {
    // Prepare
    const { sim, token } = await thirtyRows();
    await listPage(sim, token, { form_id: FORM, limit: 10 });
    sim.insertWhilePaging(FORM, 2, [{ u_id: 200 }]);
    sim.fault({ kind: 'html502', formId: FORM });

    // Act
    await request(sim, LIST_PATH, { access_token: token, form_id: FORM, status: 'submit' });
    await listPage(sim, token, { form_id: 901, limit: 10 });
    const firstCounted = await listPage(sim, token, { form_id: FORM, limit: 10 });
    const secondCounted = await listPage(sim, token, { form_id: FORM, limit: 10 });
    const third = await listPage(sim, token, { form_id: FORM, limit: 10 });

    // Assess
    expect([firstCounted.total, secondCounted.total, third.total]).toEqual([30, 30, 31]);
  });

  it('inserts at once when afterPages is 0', async () => {
    // Prepare
    const { sim, token } = await thirtyRows();

    // Act
    sim.insertWhilePaging(FORM, 0, [{ u_id: 300 }]);
    const page = await listPage(sim, token, { form_id: FORM, limit: 1 });

    // Assess
    expect(uIds(page)).toEqual([300]);
  });
});

describe('simulator data', () => {
  const started = simulators();

  it('numbers u_id after the highest one used and stamps submit_at with the clock', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: 1_700_000_000_500 });
    const sim = await started({ clock });
    sim.submit(FORM, { u_id: 41 });

    // Act
    const next = sim.submit(901);

    // Assess
    expect(next.u_id).toBe(42);
    expect(next.submit_at).toBe(1_700_000_000);
  });

  it('refuses a u_id the form already has', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 5 });

    // Act
    const again = () => sim.submit(FORM, { u_id: 5 });

    // Assess
    expect(again).toThrow(RangeError);
    expect(sim.rows(FORM)).toHaveLength(1);
  });

  it('moves a resubmitted row to its new submit_at and keeps both submissions', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 1, submit_at: 100 });
    sim.submit(FORM, { u_id: 2, submit_at: 200 });
    const { access_token } = await issueToken(sim);

    // Act
    sim.resubmit(FORM, 1, 300);
    const page = await listPage(sim, access_token, { form_id: FORM, limit: 10 });
    const answers = await submitList(sim, access_token, { form_id: FORM, u_id: 1 });

    // Assess
    expect(page.result.map((row) => [row.u_id, row.submit_at])).toEqual([
      [1, 300],
      [2, 200],
    ]);
    expect(answers.total).toBe(2);
    expect(answers.result.map((s) => s.submit_at)).toEqual([100, 300]);
  });

  it('refuses a resubmit that moves submit_at backwards', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 1, submit_at: 500 });

    // Act
    const backwards = () => {
      sim.resubmit(FORM, 1, 400);
    };

    // Assess
    expect(backwards).toThrow(RangeError);
  });

  it('generates one submission per submit with two or three answers', async () => {
    // Prepare
    const sim = await started();
    const row = sim.submit(FORM, { u_id: 7, user_city: '南昌市' });
    const { access_token } = await issueToken(sim);

    // Act
    const answers = await submitList(sim, access_token, { form_id: FORM, u_id: 7 });

    // Assess
    expect(answers.total).toBe(1);
    const [submission] = answers.result;
    expect(submission).toMatchObject({
      deleted: false,
      form_id: FORM,
      scr_id: 7,
      user_city: '南昌市',
      submit_at: row.submit_at,
    });
    expect(submission?.component_value_list.length).toBeGreaterThanOrEqual(2);
    expect(submission?.component_value_list.length).toBeLessThanOrEqual(3);
  });

  it('serves the submissions set with setSubmissions', async () => {
    // Prepare
    const sim = await started();
    sim.submit(FORM, { u_id: 9 });
    const submissions: SimSubmission[] = [
      {
        id: 55,
        deleted: true,
        form_id: FORM,
        scr_id: 9,
        time_spent: 42,
        user_city: '武汉市',
        submit_at: 1_619_613_511,
        component_value_list: [
          {
            relation_id: 1,
            component_id: 2,
            component_type: 'radio',
            title: '您的性别',
            value: '女',
            values: ['女'],
          },
        ],
      },
    ];
    sim.setSubmissions(FORM, 9, submissions);
    const { access_token } = await issueToken(sim);

    // Act
    const answers = await submitList(sim, access_token, { form_id: FORM, u_id: 9 });

    // Assess
    expect(answers).toEqual({ errcode: 0, errmsg: 'ok', total: 1, result: submissions });
  });

  it('answers submit/list without u_id with 21901', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);

    // Act
    const reply = await request(sim, SUBMIT_LIST_PATH, { access_token, form_id: FORM });

    // Assess
    expect(errorOf(reply).errcode).toBe(21901);
  });

  it('lists a few groups with limit and offset', async () => {
    // Prepare
    const sim = await started();
    const { access_token } = await issueToken(sim);

    // Act
    const all = await groupList(sim, access_token);
    const second = await groupList(sim, access_token, { limit: 1, offset: 1 });

    // Assess
    expect(all.total).toBeGreaterThanOrEqual(2);
    expect(all.result).toHaveLength(all.total);
    expect(second.result).toEqual([all.result[1]]);
  });
});
