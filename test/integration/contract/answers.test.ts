import { afterEach, describe, expect, it } from 'vitest';
import type { SimSubmission } from '../../../dev/simulator/index.js';
import type { FormEvent } from '../../../lib/events.js';
import { SNS_MAX_BYTES } from '../../../lib/publish/message.js';
import { World } from '../../support/world.js';
import { ids, receivedEvents, receivedMessages } from './support.js';

const HOUR_S = 3_600;

function answered(formId: number, uId: number, submitAt: number, note: string): SimSubmission {
  return {
    id: uId * 10,
    deleted: false,
    form_id: formId,
    scr_id: uId,
    time_spent: 42,
    user_city: '上海市',
    submit_at: submitAt,
    component_value_list: [
      {
        relation_id: 1,
        component_id: 103,
        component_type: 'checkbox',
        title: '感兴趣的课程',
        value: '数学,编程',
        values: ['数学', '编程'],
      },
      {
        relation_id: 2,
        component_id: 105,
        component_type: 'input',
        title: '备注',
        value: note,
        values: [note],
      },
    ],
  };
}

describe('answers in events (ANSWER_FORM_IDS)', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  const nowS = () => Math.floor(world.clock.now() / 1000);
  const since = () => String(Math.floor(Date.now() / 1000) - HOUR_S);

  it('carries the answers for opted-in forms only, fetched within the Weiban limits', async () => {
    world = await World.create({
      env: { FORM_IDS: '842,901', ANSWER_FORM_IDS: '842', START_FROM: since() },
    });
    const asked = world.simulator.submitMany(842, 30, (i) => ({ submit_at: nowS() - 500 + i }));
    const notAsked = world.simulator.submitMany(901, 5, (i) => ({ submit_at: nowS() - 500 + i }));
    const first = asked[0];
    if (first === undefined) throw new Error('no row');
    world.simulator.setSubmissions(842, first.u_id, [
      answered(842, first.u_id, first.submit_at, '周末有空'),
    ]);

    await world.container()();

    const events = await receivedEvents(world);
    const byForm = (formId: number) => events.filter((event) => event.data.form_id === formId);
    expect(byForm(842)).toHaveLength(30);
    expect(byForm(901)).toHaveLength(5);
    expect(byForm(901).filter((event) => 'submissions' in event.data)).toEqual([]);
    expect(byForm(842).every((event) => (event.data.submissions?.length ?? 0) > 0)).toBe(true);
    expect(events.find((event) => event.data.u_id === first.u_id)?.data.submissions).toEqual([
      {
        id: first.u_id * 10,
        submit_at: first.submit_at,
        time_spent: 42,
        answers: [
          {
            component_id: 103,
            component_type: 'checkbox',
            title: '感兴趣的课程',
            value: '数学,编程',
            values: ['数学', '编程'],
          },
          {
            component_id: 105,
            component_type: 'input',
            title: '备注',
            value: '周末有空',
            values: ['周末有空'],
          },
        ],
      },
    ]);
    const stats = world.simulator.stats();
    expect(stats.requests.submissions).toBe(asked.length);
    expect(notAsked).toHaveLength(5);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('publishes nobody whose answers could not be read, and everyone with answers next run', async () => {
    world = await World.create({ env: { ANSWER_FORM_IDS: '*', START_FROM: since() } });
    const rows = world.simulator.submitMany(842, 5, (i) => ({ submit_at: nowS() - 500 + i }));
    world.simulator.fault({ kind: 'errcode', errcode: 21902, endpoint: 'submissions', times: 1 });
    // One try per call, so the fault outlasts the transport's own retries.
    const invoke = world.container({ attempts: 1, baseDelayMs: 1, maxDelayMs: 1 });

    // The only form failed, so the handler fails (docs/guarantees.md#handler) and the run leaves
    // its cursor.
    const failed = invoke();
    await expect(failed).rejects.toThrow(/errcode 21902/);
    const afterFailure = await receivedEvents(world);
    world.clock.advance(60_000);
    const retried = await invoke();
    const events = await receivedEvents(world);

    expect(afterFailure).toEqual([]);
    expect(retried.forms[0]).toMatchObject({ outcome: 'ok', published: 5 });
    expect(ids(events)).toEqual(rows.map((row) => `weiban:sim-corp:842:${row.u_id}`).sort());
    expect(events.every((event) => (event.data.submissions?.length ?? 0) > 0)).toBe(true);
  });

  it('cuts a huge answer to fit SNS and flags the event truncated, end to end', async () => {
    world = await World.create({ env: { ANSWER_FORM_IDS: '842', START_FROM: since() } });
    const [huge, plain] = world.simulator.submitMany(842, 2, (i) => ({
      submit_at: nowS() - 100 + i,
    }));
    if (huge === undefined || plain === undefined) throw new Error('no rows');
    // 600 KB of text in one answer: more than twice what SNS accepts.
    world.simulator.setSubmissions(842, huge.u_id, [
      answered(842, huge.u_id, huge.submit_at, '长'.repeat(200_000)),
    ]);

    const summary = await world.container()();

    const messages = await receivedMessages(world);
    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 2, failed: 0 });
    const cut = messages.find((message) => (message.body as FormEvent).data.u_id === huge.u_id);
    const whole = messages.find((message) => message !== cut);
    // What SNS accepted: the Message field of the envelope the queue received.
    const envelope = JSON.parse(cut?.raw.Body ?? '{}') as { Message?: string };
    expect(Buffer.byteLength(envelope.Message ?? '')).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(cut?.body).toMatchObject({
      id: `weiban:sim-corp:842:${huge.u_id}`,
      truncated: true,
      data: {
        u_id: huge.u_id,
        submit_at: huge.submit_at,
        external_user_id: huge.external_user_id,
        unionid: huge.unionid,
        submissions: [
          {
            id: huge.u_id * 10,
            answers: expect.arrayContaining([expect.objectContaining({ title: '备注' })]),
          },
        ],
      },
    });
    const note = JSON.stringify(cut?.body).match(/长+/)?.[0] ?? '';
    expect(note.length).toBeGreaterThan(1_000);
    expect(note.length).toBeLessThan(200_000);
    expect(whole?.body).not.toHaveProperty('truncated');
  });
});
