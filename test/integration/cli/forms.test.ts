import { afterEach, describe, expect, it } from 'vitest';
import { eventIds, World } from '../../support/world.js';
import { cli, targetOf } from './support.js';

const nowS = (world: World) => Math.floor(world.clock.now() / 1000);

describe('weiban-forms forms', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  it('adds a form that the poller takes up within three runs (two, when the list rides with the states), with no deploy', async () => {
    world = await World.create({ env: { FORM_IDS: '842', START_FROM: 'now' } });
    const invoke = world.container();
    await invoke();
    world.simulator.submit(901, { submit_at: nowS(world) - 3_600 });

    const added = await cli(world, ['forms', 'add', '--form', '901', ...targetOf(world)]);
    // The next run reads the list with the states; the one after polls the new form.
    const reads = await invoke();
    world.clock.advance(60_000);
    const starts = await invoke();
    world.simulator.submit(901, { submit_at: nowS(world) + 5 });
    world.clock.advance(60_000);
    const polls = await invoke();
    const listed = await cli(world, ['forms', 'list', ...targetOf(world)]);

    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      'Added 1 form(s): 901. The poller starts on it within three runs.',
    );
    expect(listed.stdout).toMatch(/2 form\(s\) polled, 0 removed\npolled {3}842, 901\n/);
    // The run learned of 901 from the list it read, after its pass had chosen its forms.
    expect(reads.forms.map((form) => [form.form_id, form.outcome])).toEqual([
      [842, 'ok'],
      [901, 'not_due'],
    ]);
    expect(starts.forms.find((form) => form.form_id === 901)?.outcome).toBe('initialized');
    expect(polls.forms.find((form) => form.form_id === 901)).toMatchObject({ published: 1 });
    // A new form starts as START_FROM says: now, so its history is never published.
    expect(eventIds(await world.received({ expected: 1 }))).toEqual(['weiban:sim-corp:901:2']);
  });

  it('stops polling a removed form, and resumes it from its cursor when it is added back', async () => {
    world = await World.create({
      env: { FORM_IDS: '842,901', START_FROM: String(Math.floor(Date.now() / 1000) - 600) },
    });
    const invoke = world.container();
    world.simulator.submit(901, { submit_at: nowS(world) - 100 });
    await invoke();
    expect(eventIds(await world.received({ expected: 1 }))).toHaveLength(1);

    const removed = await cli(world, ['forms', 'remove', '--form', '901', ...targetOf(world)]);
    world.clock.advance(60_000);
    await invoke();
    world.simulator.submit(901, { submit_at: nowS(world) - 1 });
    world.clock.advance(60_000);
    const whileRemoved = await invoke();
    const seeded = await world.container()();
    await cli(world, ['forms', 'add', '--form', '901', ...targetOf(world)]);
    world.clock.advance(60_000);
    await invoke();
    world.clock.advance(60_000);
    const resumed = await invoke();

    expect(removed.stdout).toMatch(/removed {2}901 \(/);
    expect(whileRemoved.forms.map((form) => form.form_id)).toEqual([842]);
    // A fresh container with FORM_IDS=842,901 does not seed the removed form back.
    expect(seeded.forms.map((form) => form.form_id)).toEqual([842]);
    expect(resumed.forms.map((form) => form.form_id)).toEqual([842, 901]);
    // Only the submission made while it was removed: the one before was published already.
    expect(eventIds(await world.received({ expected: 1 }))).toEqual(['weiban:sim-corp:901:2']);
  });

  it('says what to do when no form is polled', async () => {
    world = await World.create({ env: { FORM_IDS: '' } });

    const listed = await cli(world, ['forms', 'list', ...targetOf(world)]);
    const bad = await cli(world, ['forms', 'add', '--form', '842,abc', ...targetOf(world)]);

    expect(listed.stdout).toContain(
      'No forms are polled: add some with "weiban-forms forms add --form ID", or set the formIds param.',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--form must be a form id such as 842; got "abc"');
  });
});
