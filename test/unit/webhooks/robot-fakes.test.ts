import { afterEach, describe, expect, it } from 'vitest';
import {
  DingtalkRobotFake,
  FeishuBotFake,
  WecomRobotFake,
  type RobotFake,
} from '../../../dev/receivers/index.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { classify } from '../../../lib/webhooks/classify.js';
import type { RobotFormat } from '../../../lib/webhooks/endpoints.js';
import { NodeHttpSender } from '../../../lib/webhooks/http.js';
import { composeSingle, DIALECTS } from '../../../lib/webhooks/robots/compose.js';
import { toLead } from '../../../lib/webhooks/robots/lead.js';
import { answers, formEvent } from '../../fixtures/events.js';

// Fixed test credentials for local fakes; no real robot is involved.
const KEY = 'test-robot-key-0001';
const SECRET = 'SECtest-signing-secret';

const fakes: RobotFake[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function robot(
  format: RobotFormat,
  clock: VirtualClock,
  secret?: string,
): Promise<RobotFake> {
  const options = { clock, key: KEY, ...(secret !== undefined && { secret }) };
  const fake =
    format === 'wecom'
      ? new WecomRobotFake(options)
      : format === 'feishu'
        ? new FeishuBotFake(options)
        : new DingtalkRobotFake(options);
  await fake.start();
  fakes.push(fake);
  return fake;
}

/** Sends one message the way the delivery does, signed with `secret` at `signAtMs`. */
async function send(
  fake: RobotFake,
  format: RobotFormat,
  {
    clock,
    secret,
    signAtMs,
    url = fake.webhookUrl(),
  }: { clock: VirtualClock; secret?: string; signAtMs?: number; url?: string },
) {
  const dialect = DIALECTS[format];
  const { payload } = composeSingle(dialect, toLead(formEvent({}, { submissions: [answers(3)] })));
  const request = dialect.request(payload, {
    url,
    ...(secret !== undefined && { secret }),
    nowMs: signAtMs ?? clock.now(),
  });
  const http = new NodeHttpSender({ clock, allowLoopback: true });
  const result = await http.post({
    url: request.url,
    headers: { 'content-type': 'application/json' },
    body: request.body,
  });
  return classify(result, { dialect, nowMs: clock.now() });
}

describe('robot signing, checked by the fakes against the documented rule', () => {
  it.each(['feishu', 'dingtalk'] as const)(
    'a %s robot with a secret accepts a signed message',
    async (format) => {
      const clock = new VirtualClock();
      const fake = await robot(format, clock, SECRET);

      const outcome = await send(fake, format, { clock, secret: SECRET });

      expect(outcome.kind).toBe('delivered');
      expect(fake.transcript()).toContain('新线索：张三（上海市）提交了《2026 秋季课程报名》');
    },
  );

  it.each([
    ['feishu', 19021],
    ['dingtalk', 310000],
  ] as const)('a %s robot refuses a wrong secret (code %i), for good', async (format, code) => {
    const clock = new VirtualClock();
    const fake = await robot(format, clock, SECRET);

    const outcome = await send(fake, format, { clock, secret: 'SECanother' });

    expect(outcome).toMatchObject({ kind: 'permanent', code });
    expect(fake.messages).toEqual([]);
  });

  it.each(['feishu', 'dingtalk'] as const)(
    'a %s robot refuses a signature over an hour old',
    async (format) => {
      const clock = new VirtualClock();
      const fake = await robot(format, clock, SECRET);

      const outcome = await send(fake, format, {
        clock,
        secret: SECRET,
        signAtMs: clock.now() - 3_601_000,
      });

      expect(outcome.kind).toBe('permanent');
    },
  );

  it.each(['feishu', 'dingtalk'] as const)(
    'a %s robot with a secret refuses an unsigned message',
    async (format) => {
      const clock = new VirtualClock();
      const fake = await robot(format, clock, SECRET);

      expect((await send(fake, format, { clock })).kind).toBe('permanent');
    },
  );
});

describe('robot answers the fakes give as the docs say', () => {
  it.each([
    ['wecom', 93000],
    ['feishu', 19001],
    ['dingtalk', 300001],
  ] as const)('a %s robot answers HTTP 200 with %i to an unknown key', async (format, code) => {
    const clock = new VirtualClock();
    const fake = await robot(format, clock);
    const wrong = fake.webhookUrl().replace(encodeURIComponent(KEY), 'revoked-key');

    const outcome = await send(fake, format, { clock, url: wrong });

    expect(outcome).toMatchObject({ kind: 'permanent', status: '200', code });
  });

  it.each([
    ['wecom', 20, 45009],
    ['dingtalk', 20, 410100],
    ['feishu', 5, 11232],
  ] as const)(
    'a %s robot throttles the message after %i (code %i)',
    async (format, limit, code) => {
      const clock = new VirtualClock();
      const fake = await robot(format, clock);
      for (let i = 0; i < limit; i += 1)
        expect((await send(fake, format, { clock })).kind).toBe('delivered');

      const outcome = await send(fake, format, { clock });

      expect(outcome).toMatchObject({ kind: 'retry', code });
      expect(fake.stats().rejected).toEqual({ [String(code)]: 1 });
    },
  );

  it('a DingTalk robot keeps refusing for 10 minutes after the limit was broken', async () => {
    const clock = new VirtualClock();
    const fake = await robot('dingtalk', clock);
    for (let i = 0; i < 21; i += 1) await send(fake, 'dingtalk', { clock });

    clock.advance(9 * 60_000);
    expect((await send(fake, 'dingtalk', { clock })).kind).toBe('retry');
    clock.advance(61_000);
    expect((await send(fake, 'dingtalk', { clock })).kind).toBe('delivered');
  });

  it('prints each accepted message as one line, for npm start', async () => {
    const clock = new VirtualClock();
    const lines: string[] = [];
    const fake = new WecomRobotFake({ clock, key: KEY, onDelivery: (line) => lines.push(line) });
    await fake.start();
    fakes.push(fake);

    await send(fake, 'wecom', { clock });

    expect(lines).toEqual([
      expect.stringMatching(
        /^WeCom 新线索：张三（上海市）提交了《2026 秋季课程报名》 \| > 提交时间：/,
      ),
    ]);
  });

  it('a WeCom robot refuses markdown over 4096 bytes', async () => {
    const clock = new VirtualClock();
    const fake = await robot('wecom', clock);
    const http = new NodeHttpSender({ clock, allowLoopback: true });

    const result = await http.post({
      url: fake.webhookUrl(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'markdown', markdown: { content: '字'.repeat(1366) } }),
    });

    expect(classify(result, { dialect: DIALECTS.wecom, nowMs: clock.now() })).toMatchObject({
      kind: 'permanent',
      code: 40058,
    });
  });
});
