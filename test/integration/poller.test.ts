import { afterEach, describe, expect, it } from 'vitest';
import { formEventSchema } from '../../lib/events.js';
import { eventIds, World } from '../support/world.js';

const HOUR_S = 3_600;

describe('the poller against DynamoDB Local, moto and the Weiban simulator', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  const nowS = () => Math.floor(world.clock.now() / 1000);

  it('delivers 3 forms × 250 submitters exactly once, with the documented event body and attributes', async () => {
    world = await World.create({
      env: { FORM_IDS: '842,901,977', START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    for (const formId of [842, 901, 977]) {
      world.simulator.submitMany(formId, 250, (i) => ({ submit_at: nowS() - 3_000 + i }));
    }
    const invoke = world.container();

    // Time enough for all 750 in one run on a loaded machine: the deadline has tests of its own.
    const summary = await invoke({ remainingMs: 300_000 });
    const messages = await world.received({ expected: 750 });

    expect(summary.totals).toMatchObject({
      fetched: 750,
      new: 750,
      published: 750,
      failed: 0,
      pages: 9,
    });
    expect(messages).toHaveLength(750);
    expect(new Set(eventIds(messages)).size).toBe(750);
    for (const message of messages) {
      const event = formEventSchema.parse(message.body);
      expect(event.id).toBe(`weiban:sim-corp:${event.data.form_id}:${event.data.u_id}`);
      expect(message.attributes).toEqual({
        event_type: { Type: 'String', Value: 'weiban.form.submitted' },
        form_id: { Type: 'Number', Value: String(event.data.form_id) },
        ...(event.data.user_city
          ? { user_city: { Type: 'String', Value: event.data.user_city } }
          : {}),
      });
    }
    const stats = world.simulator.stats();
    expect(stats.requests).toMatchObject({ token: 1, list: 9 });
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);

    const second = await invoke();
    expect(second.totals).toMatchObject({ new: 0, published: 0 });
    expect(await world.received()).toHaveLength(0);
  });

  it('delivers new submitters once, and a late arrival inside the lookback', async () => {
    world = await World.create({ env: { START_FROM: 'now' } });
    const invoke = world.container();
    await invoke();
    for (let minute = 0; minute < 5; minute += 1) {
      world.clock.advance(60_000);
      await invoke();
    }
    const fresh = world.simulator.submitMany(842, 3, () => ({ submit_at: nowS() - 5 }));
    world.clock.advance(60_000);
    const afterFresh = await invoke();
    const cursor = afterFresh.forms[0]?.cursor ?? 0;
    const late = world.simulator.submit(842, { submit_at: cursor - 120 });

    world.clock.advance(60_000);
    await invoke();
    world.clock.advance(60_000);
    await invoke();

    const ids = eventIds(await world.received());
    expect(ids.sort()).toEqual(
      [...fresh, late].map((row) => `weiban:sim-corp:842:${row.u_id}`).sort(),
    );
  });

  it('neither loses nor duplicates rows inserted while it pages', async () => {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    world.simulator.submitMany(842, 250, (i) => ({ submit_at: nowS() - 2_000 + i }));
    // Late arrivals far older than the lookback, listed above rows already read.
    const inserted = Array.from({ length: 12 }, (_, i) => ({ submit_at: nowS() - 1_000 + i }));
    world.simulator.insertWhilePaging(842, 1, inserted);
    const invoke = world.container();

    const summary = await invoke();

    const ids = eventIds(await world.received({ expected: 262 }));
    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 262 });
    expect(ids).toHaveLength(262);
    expect(new Set(ids).size).toBe(262);
  });

  it('delivers each submitter once when two invocations run at once', async () => {
    world = await World.create({
      env: { FORM_IDS: '1,2,3,4,5,6', START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    for (const formId of [1, 2, 3, 4, 5, 6]) {
      world.simulator.submitMany(formId, 120, (i) => ({ submit_at: nowS() - 2_000 + i }));
    }

    const [a, b] = await Promise.all([world.container()(), world.container()()]);
    world.clock.advance(60_000);
    await world.container()();

    const ids = eventIds(await world.received({ expected: 720 }));
    expect(ids).toHaveLength(720);
    expect(new Set(ids).size).toBe(720);
    expect(a.totals.published + b.totals.published).toBe(720);
  });

  it('saves a continuation at the deadline and the next run finishes the window', async () => {
    world = await World.create({
      env: {
        START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S),
        DEADLINE_MARGIN_MS: '5000',
      },
    });
    world.simulator.submitMany(842, 300, (i) => ({ submit_at: nowS() - 2_000 + i }));
    const invoke = world.container();
    // Plenty of time for the first page, then less than the 5 s margin.
    const pagesServed = () => world.simulator.stats().listCalls.length;

    const first = await invoke({ remainingMs: () => (pagesServed() === 0 ? 60_000 : 4_000) });
    const second = await invoke();

    expect(first.forms[0]).toMatchObject({ outcome: 'continued', published: 100 });
    expect(second.forms[0]).toMatchObject({ outcome: 'ok', published: 200 });
    const ids = eventIds(await world.received({ expected: 300 }));
    expect(new Set(ids).size).toBe(300);
    expect(world.simulator.stats().listCalls.map((call) => call.offset)).toEqual([0, 100, 200]);
  });
});
