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

// moto's SQS slows as a queue fills (every receive walks the queue): bursts take a while.
describe('rate limits across two concurrent executions', { timeout: 240_000 }, () => {
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

    const limits = { wecom: 20, feishu: 100, dingtalk: 20 };
    const seen = Object.fromEntries(
      Object.entries(limits).map(([name, limit]) => {
        const robot = w.endpoint(name).spec.receiver as RobotFake;
        const stats = robot.stats();
        return [
          name,
          {
            missing: named(robot, 120),
            rejected: stats.rejected,
            withinLimit: stats.peakPerMinute <= limit,
            digests: /\d+ 条新线索/.test(robot.transcript()),
            fewerMessagesThanEvents: robot.messages.length < 120,
          },
        ];
      }),
    );
    const healthy = {
      missing: [],
      rejected: {},
      withinLimit: true,
      digests: true,
      fewerMessagesThanEvents: true,
    };
    expect(seen).toEqual({ wecom: healthy, feishu: healthy, dingtalk: healthy });
    for (const name of Object.keys(limits)) expect(await w.deadLetters(name)).toEqual([]);
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
