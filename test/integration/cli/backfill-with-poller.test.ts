import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../../support/world.js';
import { cli, simulatorEnv, targetOf } from './support.js';

const POLLED = [901, 902, 903, 904, 905, 906];

describe('a backfill while the poller runs (G4: one budget for the corp)', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  it('keeps Weiban within 4 in flight and its minute, with no 10052 or 10053, and both finish', async () => {
    world = await World.create({
      env: { FORM_IDS: POLLED.join(','), START_FROM: String(Math.floor(Date.now() / 1000) - 600) },
      // Slow enough answers that the two would overlap at Weiban if they did not share.
      simulator: { latencyMs: 60 },
    });
    const nowS = Math.floor(world.clock.now() / 1000);
    world.simulator.submitMany(842, 600, (i) => ({ submit_at: nowS - 7_000 + i }));
    for (const formId of POLLED) world.simulator.submitMany(formId, 5);
    const poller = world.container();

    // The poller keeps running, a scheduled minute after another, for as long as the backfill.
    const runs: Awaited<ReturnType<typeof poller>>[] = [];
    const backfillState = { done: false };
    const polling = (async () => {
      while (!backfillState.done || runs.length < 2) {
        runs.push(await poller());
        world.clock.advance(60_000);
        for (const formId of POLLED) world.simulator.submit(formId);
      }
    })();
    const backfill = await cli(
      world,
      [
        'backfill',
        '--form',
        '842',
        '--since',
        String(nowS - 7_200),
        '--page-size',
        '50',
        '--max-in-flight',
        '2',
        ...targetOf(world),
      ],
      { env: simulatorEnv(world) },
    ).finally(() => {
      backfillState.done = true;
    });
    await polling;
    const stats = world.simulator.stats();

    expect(backfill.stderr).toBe('');
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toContain('Backfilled form 842: 600 row(s) read, 600 published');
    expect(runs.flatMap((run) => run.forms.map((form) => form.outcome))).not.toContain('failed');
    // Every submission of the polled forms, including those made while the backfill ran.
    expect(runs.reduce((sum, run) => sum + run.totals.published, 0)).toBe(
      POLLED.length * (5 + runs.length) - POLLED.length,
    );
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(stats.errors['10052']).toBeUndefined();
    expect(stats.errors['10053']).toBeUndefined();
    expect(Math.max(...Object.values(stats.peakPerMinute))).toBeLessThanOrEqual(500);
  }, 180_000);
});
