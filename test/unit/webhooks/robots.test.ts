import { describe, expect, it } from 'vitest';
import type { Payload } from '../../../lib/webhooks/robots/dialect.js';
import { composeSingle, DIALECTS, planMessages } from '../../../lib/webhooks/robots/compose.js';
import { shanghaiTime, toLead } from '../../../lib/webhooks/robots/lead.js';
import { answers, formEvent, SUBMIT_AT } from '../../fixtures/events.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The text a group member reads, per robot. */
function shown(payload: Payload): string {
  return JSON.stringify(payload);
}

describe('robot messages', () => {
  it('tells a WeCom group who submitted which form, from where and when, then the answers', () => {
    const lead = toLead(formEvent({}, { submissions: [answers(2)] }));

    const { payload } = composeSingle(DIALECTS.wecom, lead);

    expect(payload).toEqual({
      msgtype: 'markdown',
      markdown: {
        content: [
          '新线索：张三（上海市）提交了《2026 秋季课程报名》',
          '> 提交时间：<font color="comment">2026-09-01 10:23</font>',
          '> 问题 1：回答 1',
          '> 问题 2：回答 2',
        ].join('\n'),
      },
    });
  });

  it('shows the submission time in Asia/Shanghai local time', () => {
    expect(shanghaiTime(SUBMIT_AT)).toBe('2026-09-01 10:23');
    expect(shanghaiTime(Date.UTC(2026, 11, 31, 16, 5) / 1000)).toBe('2027-01-01 00:05');
  });

  it.each(['wecom', 'feishu', 'dingtalk'] as const)(
    'cuts %s answers to fit the size limit and says how many were cut, never the identity',
    (format) => {
      const dialect = DIALECTS[format];
      const long = formEvent({}, { submissions: [answers(120, () => '很长的回答'.repeat(60))] });

      const { payload } = composeSingle(dialect, toLead(long));

      expect(dialect.fits(payload)).toBe(true);
      const text = shown(payload);
      expect(text).toContain('张三（上海市）提交了《2026 秋季课程报名》');
      expect(text).toContain('2026-09-01 10:23');
      expect(text).toMatch(/另有 \d+ 项回答未显示/);
      const hidden = Number(/另有 (\d+) 项/.exec(text)?.[1]);
      const shownAnswers = (text.match(/问题 \d+：/g) ?? []).length;
      expect(shownAnswers + hidden).toBe(120);
      expect(shownAnswers).toBeGreaterThan(0);
    },
  );

  it('keeps WeCom markdown within 4096 bytes and the Feishu body within 20 KB', () => {
    const lead = toLead(formEvent({}, { submissions: [answers(200, () => '字'.repeat(300))] }));
    const wecom = composeSingle(DIALECTS.wecom, lead).payload as { markdown: { content: string } };
    const feishu = composeSingle(DIALECTS.feishu, lead).payload;

    expect(bytes(wecom.markdown.content)).toBeLessThanOrEqual(4096);
    expect(bytes(wecom.markdown.content)).toBeGreaterThan(3500);
    expect(bytes(JSON.stringify(feishu))).toBeLessThanOrEqual(20_000);
  });

  it('never lets a submitter format the message or mention anyone', () => {
    const lead = toLead(
      formEvent({ user_name: '<@all> **老板**', user_city: '[点我](http://x)\n# 上海' }),
    );
    const { payload } = composeSingle(DIALECTS.wecom, lead);
    const content = (payload as { markdown: { content: string } }).markdown.content;

    expect(content.split('\n')[0]).toBe(
      '新线索：＜@all＞ ＊＊老板＊＊（［点我］(http://x) ＃ 上海）提交了《2026 秋季课程报名》',
    );
    expect(content).not.toContain('<@');
  });

  it('sends one message per submission while the robot may be told of each', () => {
    const leads = [1, 2, 3].map((u) => toLead(formEvent({ u_id: u })));

    const plan = planMessages(DIALECTS.wecom, leads, 20);

    expect(plan.messages.map((m) => m.digest)).toEqual([false, false, false]);
    expect(plan.rest).toEqual([]);
  });

  it('merges a burst into digests of one line per submission within the size limit', () => {
    const leads = Array.from({ length: 50 }, (_, i) =>
      toLead(formEvent({ u_id: i + 1, user_name: `客户${i + 1}` })),
    );

    const plan = planMessages(DIALECTS.wecom, leads, 20);

    expect(plan.rest).toEqual([]);
    expect(plan.messages.length).toBeLessThan(20);
    expect(plan.messages.every((m) => m.digest && DIALECTS.wecom.fits(m.payload))).toBe(true);
    const [first] = plan.messages;
    const content = (first?.payload as { markdown: { content: string } }).markdown.content;
    expect(content.split('\n')[0]).toBe(`**${first?.leads.length} 条新线索**`);
    expect(content).toContain('> 1. 客户1（上海市）提交了《2026 秋季课程报名》');
    expect(plan.messages.flatMap((m) => m.leads.map((l) => l.id))).toEqual(leads.map((l) => l.id));
  });

  it('leaves what does not fit in the free sends for later, and sends nothing with none free', () => {
    const leads = Array.from({ length: 200 }, (_, i) => toLead(formEvent({ u_id: i + 1 })));

    const one = planMessages(DIALECTS.dingtalk, leads, 1);
    const none = planMessages(DIALECTS.dingtalk, leads, 0);

    expect(one.messages).toHaveLength(1);
    expect(one.messages[0]?.leads.length).toBeGreaterThan(1);
    expect(one.messages[0]?.leads.length ?? 0).toBeLessThan(200);
    expect((one.messages[0]?.leads.length ?? 0) + one.rest.length).toBe(200);
    expect(none.messages).toEqual([]);
    expect(none.rest).toHaveLength(200);
  });

  it('names a resubmission as such', () => {
    const lead = toLead(formEvent({}, { type: 'weiban.form.resubmitted' }));
    const { payload } = composeSingle(DIALECTS.feishu, lead);

    expect(payload).toMatchObject({
      msg_type: 'post',
      content: {
        post: { zh_cn: { title: '再次提交：张三（上海市）再次提交了《2026 秋季课程报名》' } },
      },
    });
  });
});
