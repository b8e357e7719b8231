import { afterEach, describe, expect, it } from 'vitest';
import { StandardReceiver, WecomRobotFake } from '../../../dev/receivers/index.js';
import { recentAttempts } from '../../../lib/store/webhook-log-query.js';
import { sendTestEvent } from '../../../lib/webhooks/test-send.js';
import { formEvent } from '../../fixtures/events.js';
import { newSecret, WebhookWorld } from './support.js';

describe('what the operator CLI builds on', () => {
  let w: WebhookWorld;
  afterEach(async () => {
    await w.close();
  });

  it('sends a signed test event now, within the shared window, and logs the attempt', async () => {
    const secret = newSecret();
    w = await WebhookWorld.create((clock) => [
      {
        name: 'crm',
        format: 'standard',
        secret,
        receiver: new StandardReceiver({ clock, secrets: [secret] }),
      },
      { name: 'sales', format: 'wecom', receiver: new WecomRobotFake({ clock, key: 'sales-key' }) },
    ]);
    const [service] = w.services;
    if (service === undefined) throw new Error('no service');
    const endpoint = (name: string) => {
      const found = service.endpoints.find((e) => e.name === name);
      if (found === undefined) throw new Error(name);
      return found;
    };
    const sample = formEvent({ u_id: 1, user_name: '测试客户' });

    const crm = await sendTestEvent(service.deps, endpoint('crm'), sample);
    const sales = await sendTestEvent(service.deps, endpoint('sales'), sample);

    expect(crm).toMatchObject({ sent: true, outcome: { kind: 'delivered', status: '200' } });
    expect(sales).toMatchObject({
      sent: true,
      to: expect.stringMatching(/\/cgi-bin\/webhook\/send\?key=\*\*\*$/),
      outcome: { kind: 'delivered', code: 0 },
    });
    expect((w.endpoint('crm').spec.receiver as StandardReceiver).ids()).toEqual(
      new Set([sample.id]),
    );
    expect((w.endpoint('sales').spec.receiver as WecomRobotFake).transcript()).toContain(
      '测试客户（上海市）',
    );
    const log = await recentAttempts({ client: w.aws.doc, tableName: w.tableName }, 'sales');
    expect(log).toEqual([
      expect.objectContaining({
        eventId: sample.id,
        attempt: 1,
        status: '200',
        code: 0,
        outcome: 'delivered',
        answer: '{"errcode":0,"errmsg":"ok"}',
      }),
    ]);
  });

  it('lists an endpoint’s attempts newest first, each with status, latency and the answer', async () => {
    w = await WebhookWorld.create((clock) => [
      { name: 'sales', format: 'wecom', receiver: new WecomRobotFake({ clock, key: 'sales-key' }) },
    ]);
    const robot = w.endpoint('sales').spec.receiver as WecomRobotFake;
    robot.fault({ kind: 'status', status: 502 });
    const event = formEvent({ u_id: 2 });

    await w.publish([event]);
    await w.drain();

    const log = await recentAttempts({ client: w.aws.doc, tableName: w.tableName }, 'sales');
    expect(log.map((a) => [a.attempt, a.status, a.outcome])).toEqual([
      [2, '200', 'delivered'],
      [1, '502', 'retry'],
    ]);
    expect(log[1]?.answer).toBe('{"error":"scripted 502"}');
    expect(log.every((a) => a.latencyMs >= 0 && a.eventId === event.id)).toBe(true);
  });
});
