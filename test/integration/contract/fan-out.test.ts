import { afterEach, describe, expect, it } from 'vitest';
import type { SimRow } from '../../../dev/simulator/index.js';
import { World } from '../../support/world.js';
import { ids, receivedEvents, subscribe } from './support.js';

const HOUR_S = 3_600;

// The filter policies docs/consuming.md offers consumers, run through moto's SNS.
describe('fan-out to subscribers with filter policies', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  const nowS = () => Math.floor(world.clock.now() / 1000);
  const idsOf = (rows: readonly SimRow[]) =>
    rows.map((row) => `weiban:sim-corp:${row.form_id}:${row.u_id}`).sort();

  it('delivers to each subscriber only the forms and the city its filter policy selects', async () => {
    world = await World.create({
      env: { FORM_IDS: '842,901', START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    const only842 = await subscribe(world, 'crm', { filterPolicy: { form_id: [842] } });
    const only901 = await subscribe(world, 'survey', { filterPolicy: { form_id: [901] } });
    const shanghai = await subscribe(world, 'shanghai', {
      filterPolicy: { user_city: [{ prefix: '上海' }] },
    });
    const at = (i: number) => ({ submit_at: nowS() - 1_000 + i });
    const form842 = [
      ...world.simulator.submitMany(842, 3, (i) => ({ ...at(i), user_city: '上海市' })),
      ...world.simulator.submitMany(842, 3, (i) => ({ ...at(10 + i), user_city: '北京市' })),
    ];
    const form901 = [
      ...world.simulator.submitMany(901, 2, (i) => ({ ...at(20 + i), user_city: '上海' })),
      ...world.simulator.submitMany(901, 2, (i) => ({ ...at(30 + i), user_city: '南昌市' })),
      // No user_city attribute at all: a city filter never matches it.
      world.simulator.submit(901, { ...at(40), user_city: '' }),
    ];

    await world.container()();

    expect(ids(await only842.events())).toEqual(idsOf(form842));
    expect(ids(await only901.events())).toEqual(idsOf(form901));
    expect(ids(await shanghai.events())).toEqual(
      idsOf([...form842, ...form901].filter((row) => row.user_city.startsWith('上海'))),
    );
    expect(ids(await receivedEvents(world))).toEqual(idsOf([...form842, ...form901]));
  });

  it('delivers the bare event with its attributes to a raw-delivery subscriber', async () => {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    const raw = await subscribe(world, 'raw', {
      filterPolicy: { event_type: ['weiban.form.submitted'], form_id: [{ numeric: ['=', 842] }] },
      rawMessageDelivery: true,
    });
    const row = world.simulator.submit(842, { submit_at: nowS() - 100, user_city: '上海市' });

    await world.container()();

    const [message, ...more] = await raw.messages();
    expect(more).toEqual([]);
    expect(JSON.parse(message?.raw.Body ?? '')).toMatchObject({
      id: `weiban:sim-corp:842:${row.u_id}`,
      type: 'weiban.form.submitted',
      data: { u_id: row.u_id, user_city: '上海市' },
    });
  });
});
