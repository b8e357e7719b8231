import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatTime } from '../../../cli/format.js';
import { DynamoFormStateStore } from '../../../lib/store/form-state.js';
import { eventIds, World } from '../../support/world.js';
import { cli, targetOf } from './support.js';

const HOUR_S = 3_600;

describe('weiban-forms reset', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });
  const nowS = () => Math.floor(world.clock.now() / 1000);
  const cursor = async () =>
    (await new DynamoFormStateStore({ client: world.aws.doc, tableName: world.tableName }).get(842))
      ?.cursor;

  /** A form polled once: 10 submitters published, its cursor at the present. */
  async function polledForm() {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    const rows = world.simulator.submitMany(842, 10, (i) => ({ submit_at: nowS() - 1_800 + i }));
    await world.container()();
    await world.received({ expected: 10 });
    return rows;
  }

  it('refuses without a terminal unless --yes is given, and changes nothing', async () => {
    await polledForm();
    const before = await cursor();
    const to = String(nowS() - HOUR_S);

    const result = await cli(world, ['reset', '--form', '842', '--to', to, ...targetOf(world)]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: reset changes where form 842 reads from and needs confirmation: run it in a terminal, or pass --yes\n',
    );
    expect(await cursor()).toBe(before);
  });

  it.each(['n', 'no', '', 'sure'])(
    'keeps the cursor when the operator answers "%s"',
    async (answer) => {
      await polledForm();
      const before = await cursor();
      const ask = vi.fn(() => Promise.resolve(answer));

      const result = await cli(
        world,
        ['reset', '--form', '842', '--to', String(nowS() - HOUR_S), ...targetOf(world)],
        { ask },
      );

      expect(ask).toHaveBeenCalledWith(expect.stringContaining('Move the cursor of form 842'));
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Nothing changed.');
      expect(await cursor()).toBe(before);
    },
  );

  it('moves the cursor back after a yes, and the next run publishes only what was missed', async () => {
    const rows = await polledForm();
    const before = (await cursor()) ?? 0;
    const to = before - HOUR_S;
    // Arrived late, older than the lookback: only a reset brings the poller back for it.
    const missed = world.simulator.submit(842, { submit_at: nowS() - 2_400 });

    const result = await cli(
      world,
      ['reset', '--form', '842', '--to', String(to), ...targetOf(world)],
      {
        ask: () => Promise.resolve('yes'),
      },
    );
    const summary = await world.container()();

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`cursor ${formatTime(before)} → ${formatTime(to)} (back 1h)`);
    expect(result.stdout).toContain(`Form 842: the cursor is now ${formatTime(to)}`);
    expect(summary.forms[0]).toMatchObject({ duplicate: rows.length, published: 1 });
    expect(eventIds(await world.received())).toEqual([`weiban:sim-corp:842:${missed.u_id}`]);
  });

  it('does not ask with --yes', async () => {
    await polledForm();
    const ask = vi.fn(() => Promise.resolve('no'));
    const to = nowS() - 2 * HOUR_S;

    const result = await cli(
      world,
      ['reset', '--form', '842', '--to', String(to), '--yes', ...targetOf(world)],
      {
        ask,
      },
    );

    expect(result.code).toBe(0);
    expect(ask).not.toHaveBeenCalled();
    expect(await cursor()).toBe(to);
  });

  it('refuses a cursor in the future', async () => {
    await polledForm();
    const before = await cursor();

    const result = await cli(world, [
      'reset',
      '--form',
      '842',
      '--to',
      String(nowS() + HOUR_S),
      '--yes',
      ...targetOf(world),
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: --to .* is in the future; a cursor can be at most now\n$/,
    );
    expect(await cursor()).toBe(before);
  });
});
