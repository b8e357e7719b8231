import { afterEach, describe, expect, it } from 'vitest';
import {
  DingtalkRobotFake,
  StandardReceiver,
  WecomRobotFake,
  type ReceiverFault,
} from '../../../dev/receivers/index.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { DynamoWebhookAttempts } from '../../../lib/store/webhook-attempts.js';
import { redrive } from '../../../lib/webhooks/redrive.js';
import { formEvent } from '../../fixtures/events.js';
import { newSecret, WebhookWorld } from './support.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

/** A world with one `standard` endpoint, `crm`, and a WeCom robot, `sales`. */
async function world(clock = new VirtualClock()): Promise<WebhookWorld> {
  const secret = newSecret();
  return WebhookWorld.create(
    (c) => [
      {
        name: 'crm',
        format: 'standard',
        secret,
        receiver: new StandardReceiver({ clock: c, secrets: [secret] }),
      },
      {
        name: 'sales',
        format: 'wecom',
        receiver: new WecomRobotFake({ clock: c, key: 'sales-key' }),
      },
    ],
    { clock },
  );
}

const crmOf = (w: WebhookWorld) => w.endpoint('crm').spec.receiver as StandardReceiver;
const salesOf = (w: WebhookWorld) => w.endpoint('sales').spec.receiver as WecomRobotFake;

/** Arrival times relative to the first, in ms of the shared clock. */
const offsets = (arrivals: readonly { at: number }[]) =>
  arrivals.map((a) => a.at - (arrivals[0]?.at ?? 0));

describe('webhook faults, through the real handler fed from moto SQS', () => {
  let w: WebhookWorld;
  afterEach(async () => {
    await w.close();
  });

  it.each<[string, ReceiverFault]>([
    ['down', { kind: 'down' }],
    ['answering 500', { kind: 'status', status: 500 }],
  ])(
    'retries a receiver %s 5 s later, then delivers with the same webhook-id',
    async (_what, fault) => {
      w = await world();
      crmOf(w).fault(fault);
      const event = formEvent({ u_id: 7 });

      await w.publish([event]);
      await w.drain(['crm']);

      const crm = crmOf(w);
      expect(crm.arrivals.map((a) => a.headers['webhook-id'])).toEqual([event.id, event.id]);
      expect(offsets(crm.arrivals)[1]).toBeGreaterThanOrEqual(5 * S);
      expect(offsets(crm.arrivals)[1]).toBeLessThan(5 * S + 3 * S);
      expect(crm.deliveries.map((d) => d.id)).toEqual([event.id]);
      expect(await w.deadLetters('crm')).toEqual([]);
    },
  );

  it('gives up on a receiver slow past the 15 s timeout and retries; the repeat has the same webhook-id', async () => {
    // Faster time: the 15 s timeout and the fake's 20 s delay pass in about a second.
    w = await world(new VirtualClock({ scale: 20 }));
    crmOf(w).fault({ kind: 'slow', delayMs: 20 * S });
    const event = formEvent({ u_id: 8 });

    await w.publish([event]);
    await w.drain(['crm']);

    const crm = crmOf(w);
    // The slow attempt is still being answered when the retry has been delivered.
    for (let waited = 0; crm.deliveries.length < 2 && waited < 10_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The receiver processed both: the one the sender gave up on, and the retry.
    expect(crm.deliveries.map((d) => d.id)).toEqual([event.id, event.id]);
    expect(new Set(crm.deliveries.map((d) => d.timestamp)).size).toBe(2);
    expect(offsets(crm.arrivals)[1]).toBeGreaterThanOrEqual(15 * S + 5 * S);
  });

  it('honours a 429 Retry-After before the next attempt', async () => {
    w = await world();
    crmOf(w).fault({ kind: 'status', status: 429, retryAfter: '90' });
    const event = formEvent({ u_id: 9 });

    await w.publish([event]);
    await w.drain(['crm']);

    const crm = crmOf(w);
    expect(crm.arrivals).toHaveLength(2);
    expect(offsets(crm.arrivals)[1]).toBeGreaterThanOrEqual(90 * S);
    expect(crm.deliveries.map((d) => d.id)).toEqual([event.id]);
  });

  it('walks the whole schedule, 5 s to 10 h, then dead-letters with the reason', async () => {
    w = await world();
    crmOf(w).fault({ kind: 'status', status: 503, times: 100 });
    const event = formEvent({ u_id: 10 });

    await w.publish([event]);
    await w.drain(['crm']);

    const gaps = offsets(crmOf(w).arrivals)
      .map((at, i, all) => at - (all[i - 1] ?? at))
      .slice(1);
    const scheduled = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];
    expect(gaps).toHaveLength(7);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(scheduled[i] ?? 0);
      expect(gap).toBeLessThan((scheduled[i] ?? 0) + 3 * S);
    });
    expect(await w.deadLetters('crm')).toEqual([
      {
        eventId: event.id,
        attributes: {
          reason: 'gave up after 8 attempts; the last: the receiver failed (503)',
          attempts: '8',
          last_status: '503',
          endpoint: 'crm',
          event_type: 'weiban.form.submitted',
          form_id: '842',
          user_city: '上海市',
        },
      },
    ]);
  });

  it('dead-letters a 410 at once, and a redrive delivers it with the same webhook-id', async () => {
    w = await world();
    crmOf(w).fault({ kind: 'status', status: 410 });
    const event = formEvent({ u_id: 11 });

    await w.publish([event]);
    await w.drain(['crm']);
    const dead = await w.deadLetters('crm');

    expect(crmOf(w).arrivals).toHaveLength(1);
    expect(dead).toEqual([
      expect.objectContaining({
        eventId: event.id,
        attributes: expect.objectContaining({
          reason: 'the receiver is gone (410)',
          attempts: '1',
          last_status: '410',
        }),
      }),
    ]);

    const crm = w.endpoint('crm');
    const attempts = new DynamoWebhookAttempts({
      client: w.aws.doc,
      tableName: w.tableName,
      clock: w.clock,
    });
    const moved = await redrive({
      sqs: w.aws.sqs,
      dlqUrl: crm.dlqUrl,
      queueUrl: crm.queueUrl,
      resetAttempts: (id) => attempts.reset('crm', id),
    });
    await w.drain(['crm']);

    expect(moved).toEqual({ moved: 1, eventIds: [event.id], returned: 0 });
    expect(crmOf(w).deliveries.map((d) => d.id)).toEqual([event.id]);
    expect(crmOf(w).arrivals.map((a) => a.headers['webhook-id'])).toEqual([event.id, event.id]);
    expect(await w.deadLetters('crm')).toEqual([]);
    expect(await attempts.counts('crm', [event.id])).toEqual(new Map([[event.id, 0]]));
  });

  it('dead-letters an invalid robot key at once, naming it without showing it', async () => {
    w = await world();
    salesOf(w).fault({ kind: 'invalidKey' });
    const event = formEvent({ u_id: 12 });

    await w.publish([event]);
    await w.drain(['sales']);

    const [letter, ...more] = await w.deadLetters('sales');
    expect(more).toEqual([]);
    expect(letter?.attributes).toMatchObject({
      reason: 'the robot key is invalid or the robot was removed (93000)',
      attempts: '1',
      last_status: '200',
    });
    expect(JSON.stringify(w.logs)).not.toContain('sales-key');
    expect(JSON.stringify(w.logs)).toContain('key=***');
  });

  it('keeps other endpoints unaffected while one fails', async () => {
    w = await world();
    crmOf(w).fault({ kind: 'down', times: 1_000 });
    const burst = Array.from({ length: 5 }, (_, i) => formEvent({ u_id: 100 + i }));

    await w.publish(burst);
    await w.drain();

    // Each message reached the robot once, on its first attempt, while crm walked its schedule.
    const sales = salesOf(w);
    expect(sales.arrivals).toHaveLength(5);
    expect(sales.stats().rejected).toEqual({});
    expect(crmOf(w).arrivals).toHaveLength(5 * 8);
    expect(sales.messages).toHaveLength(5);
    expect((await w.deadLetters('crm')).map((d) => d.eventId).sort()).toEqual(
      burst.map((e) => e.id).sort(),
    );
    expect(await w.deadLetters('sales')).toEqual([]);
  });
});

describe('robot throttling seen from outside', () => {
  let w: WebhookWorld;
  afterEach(async () => {
    await w.close();
  });

  it("waits out a DingTalk robot's 10-minute throttle and then delivers", async () => {
    w = await WebhookWorld.create((c) => [
      {
        name: 'ops',
        format: 'dingtalk',
        receiver: new DingtalkRobotFake({ clock: c, key: 'ops-token' }),
      },
    ]);
    const robot = w.endpoint('ops').spec.receiver as DingtalkRobotFake;
    robot.fault({ kind: 'throttle' });
    const event = formEvent({ u_id: 13 });

    await w.publish([event]);
    await w.drain();

    expect(offsets(robot.arrivals)).toEqual([0, expect.any(Number)]);
    expect(offsets(robot.arrivals)[1]).toBeGreaterThanOrEqual(10 * M);
    expect(robot.messages).toHaveLength(1);
  });
});
