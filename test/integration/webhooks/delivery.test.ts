import { afterEach, describe, expect, it } from 'vitest';
import { StandardReceiver, WecomRobotFake, FeishuBotFake } from '../../../dev/receivers/index.js';
import { formEvent } from '../../fixtures/events.js';
import { newSecret, WebhookWorld } from './support.js';

const events = (count: number, formId = 842) =>
  Array.from({ length: count }, (_, i) =>
    formEvent({ u_id: 1_000 + i, form_id: formId, user_name: `客户${i + 1}` }),
  );
const ids = (list: readonly { id: string }[]) => list.map((event) => event.id).sort();

describe('webhook delivery through the real handler, fed from moto SQS', () => {
  let world: WebhookWorld;
  afterEach(async () => {
    await world.close();
  });

  it('delivers every event to each matching endpoint: verified, and as WeCom messages', async () => {
    const secret = newSecret();
    world = await WebhookWorld.create((clock) => [
      {
        name: 'crm',
        format: 'standard',
        secret,
        receiver: new StandardReceiver({ clock, secrets: [secret] }),
      },
      { name: 'sales', format: 'wecom', receiver: new WecomRobotFake({ clock, key: 'sales-key' }) },
      {
        name: 'survey',
        format: 'feishu',
        filterPolicy: { form_id: [901] },
        receiver: new FeishuBotFake({ clock, key: 'survey-token' }),
      },
    ]);
    const form842 = events(3);
    const form901 = events(2, 901);

    await world.publish([...form842, ...form901]);
    await world.drain();

    const crm = world.endpoint('crm').spec.receiver as StandardReceiver;
    const sales = world.endpoint('sales').spec.receiver as WecomRobotFake;
    const survey = world.endpoint('survey').spec.receiver as FeishuBotFake;
    expect([...crm.ids()].sort()).toEqual(ids([...form842, ...form901]));
    expect(crm.refusals).toEqual([]);
    expect(sales.transcript()).toContain('新线索：客户1（上海市）提交了《2026 秋季课程报名》');
    expect(sales.messages).toHaveLength(5);
    expect(survey.messages).toHaveLength(2);
    expect(await world.deadLetters('crm')).toEqual([]);
  });
});
