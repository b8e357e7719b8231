import { afterEach, describe, expect, it } from 'vitest';
import { StandardReceiver, WecomRobotFake } from '../../../dev/receivers/index.js';
import { formEventSchema } from '../../../lib/events.js';
import { World } from '../../support/world.js';
import { newSecret, WebhookWorld } from './support.js';

const HOUR_S = 3_600;
const FORMS = [842, 901, 977];

describe('the 3 × 250 run, delivered as webhooks', () => {
  let world: World;
  let hooks: WebhookWorld;
  afterEach(async () => {
    await hooks.close();
    await world.close();
  });

  it('reaches a standard endpoint and a WeCom robot with every event, verified and within their limits', async () => {
    world = await World.create({
      env: {
        FORM_IDS: FORMS.join(','),
        START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S),
      },
    });
    const secret = newSecret();
    hooks = await WebhookWorld.create(
      (clock) => [
        {
          name: 'crm',
          format: 'standard',
          secret,
          receiver: new StandardReceiver({ clock, secrets: [secret] }),
        },
        {
          name: 'sales',
          format: 'wecom',
          receiver: new WecomRobotFake({ clock, key: 'sales-robot-key' }),
        },
      ],
      { clock: world.clock, topicArn: world.topicArn },
    );
    const nowS = Math.floor(world.clock.now() / 1000);
    const rows = FORMS.flatMap((formId) =>
      world.simulator.submitMany(formId, 250, (i) => ({ submit_at: nowS - 3_000 + i })),
    );
    const expected = rows.map((row) => `weiban:sim-corp:${row.form_id}:${row.u_id}`).sort();

    // Time enough for all 750 in one run on a loaded machine: the deadline has tests of its own.
    const summary = await world.container()({ remainingMs: 300_000 });
    await hooks.drain();

    expect(summary.totals).toMatchObject({ new: 750, published: 750, failed: 0 });
    const crm = hooks.endpoint('crm').spec.receiver as StandardReceiver;
    const sales = hooks.endpoint('sales').spec.receiver as WecomRobotFake;
    // Standard: every event verified by the official package, the body the published event.
    expect([...crm.ids()].sort()).toEqual(expected);
    expect(crm.refusals).toEqual([]);
    for (const delivery of crm.deliveries) {
      expect(formEventSchema.parse(delivery.event).id).toBe(delivery.id);
    }
    expect(crm.stats().peakPerMinute).toBeLessThanOrEqual(600);
    // WeCom: every submitter named in the group, never more than 20 messages a minute.
    const transcript = sales.transcript();
    const missing = rows.filter(
      (row) => !transcript.includes(`${row.user_name}（${row.user_city}）`),
    );
    expect(missing).toEqual([]);
    expect(sales.stats().peakPerMinute).toBeLessThanOrEqual(20);
    expect(sales.stats().rejected).toEqual({});
    const digests = sales.messages.filter((message) => /^\*\*\d+ 条新线索\*\*/.test(message.text));
    expect(digests.length).toBeGreaterThan(0);
    expect(await hooks.deadLetters('crm')).toEqual([]);
    expect(await hooks.deadLetters('sales')).toEqual([]);
    const lines = sales.messages.reduce(
      (sum, m) =>
        sum +
        (/^\*\*(\d+) 条/.exec(m.text)?.[1] === undefined
          ? 1
          : Number(/^\*\*(\d+) 条/.exec(m.text)?.[1])),
      0,
    );
    // The run's figures, for docs/receivers.md and the report.
    console.info(
      `750-event run: standard ${crm.deliveries.length} deliveries (${crm.ids().size} distinct), ` +
        `peak ${crm.stats().peakPerMinute}/min; WeCom ${sales.messages.length} messages ` +
        `(${digests.length} digests, ${lines} lines), peak ${sales.stats().peakPerMinute}/min, ` +
        `virtual time ${Math.round((hooks.clock.now() - nowS * 1000) / 1000)} s`,
    );
  }, 600_000);
});
