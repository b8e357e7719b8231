import { afterEach, describe, expect, it } from 'vitest';
import {
  DingtalkRobotFake,
  FeishuBotFake,
  StandardReceiver,
  WecomRobotFake,
  type RobotFake,
} from '../../../dev/receivers/index.js';
import { DynamoWebhookAttempts } from '../../../lib/store/webhook-attempts.js';
import { formEvent } from '../../fixtures/events.js';
import { newSecret, WebhookWorld } from './support.js';

// A fixed seedless burst: names and ids follow the index, so every run is the same.
const burst = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    formEvent({ u_id: 5_000 + i, user_name: `客户${String(i + 1).padStart(3, '0')}` }),
  );

/** Each submitter named in what the group saw. */
const named = (robot: RobotFake, count: number) =>
  Array.from({ length: count }, (_, i) => `客户${String(i + 1).padStart(3, '0')}（上海市）`).filter(
    (name) => !robot.transcript().includes(name),
  );

describe('rate limits across two concurrent executions', () => {
  let w: WebhookWorld;
  afterEach(async () => {
    await w.close();
  });

  it('tells each robot of a burst within its limit, merging the rest into digests', async () => {
    const signing = 'SEC-local-signing-secret';
    w = await WebhookWorld.create((clock) => [
      { name: 'wecom', format: 'wecom', receiver: new WecomRobotFake({ clock, key: 'w-key' }) },
      {
        name: 'feishu',
        format: 'feishu',
        secret: signing,
        receiver: new FeishuBotFake({ clock, key: 'f-token', secret: signing }),
      },
      {
        name: 'dingtalk',
        format: 'dingtalk',
        secret: signing,
        receiver: new DingtalkRobotFake({ clock, key: 'd-token', secret: signing }),
      },
    ]);
    const events = burst(120);

    await w.publish(events);
    await w.drain();

    for (const name of ['wecom', 'feishu', 'dingtalk']) {
      const robot = w.endpoint(name).spec.receiver as RobotFake;
      const stats = robot.stats();
      expect(named(robot, 120), name).toEqual([]);
      expect(stats.rejected, name).toEqual({});
      expect(stats.peakPerMinute, name).toBeLessThanOrEqual(name === 'feishu' ? 100 : 20);
      expect(robot.transcript(), name).toMatch(/\d+ 条新线索/);
      expect(robot.messages.length, name).toBeLessThan(120);
      expect(await w.deadLetters(name)).toEqual([]);
    }
    const feishu = w.endpoint('feishu').spec.receiver as FeishuBotFake;
    expect(feishu.stats().peakPerSecond).toBeLessThanOrEqual(5);
  });

  it('keeps a standard endpoint to its configured rate', async () => {
    const secret = newSecret();
    w = await WebhookWorld.create((clock) => [
      {
        name: 'crm',
        format: 'standard',
        secret,
        ratePerMinute: 30,
        receiver: new StandardReceiver({ clock, secrets: [secret], perMinute: 30 }),
      },
    ]);
    const events = burst(75);

    await w.publish(events);
    await w.drain();

    const crm = w.endpoint('crm').spec.receiver as StandardReceiver;
    expect(crm.ids()).toEqual(new Set(events.map((e) => e.id)));
    expect(crm.stats().peakPerMinute).toBeLessThanOrEqual(30);
    expect(crm.stats().rejected).toEqual({});
    // Waiting for the window is not an attempt: no event has a failed attempt counted.
    const attempts = new DynamoWebhookAttempts({
      client: w.aws.doc,
      tableName: w.tableName,
      clock: w.clock,
    });
    const counts = await attempts.counts(
      'crm',
      events.map((e) => e.id),
    );
    expect(new Set(counts.values())).toEqual(new Set([0]));
  });
});
