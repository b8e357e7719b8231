import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

const FORMS = [842, 901, 977, 1024];

describe('the Weiban budget shared through the table by every container (G4)', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  it("never lets a fresh container add requests to a dead container's slow ones at Weiban", async () => {
    world = await World.create({
      env: {
        FORM_IDS: FORMS.join(','),
        START_FROM: String(Math.floor(Date.now() / 1000) - 600),
        DEADLINE_MARGIN_MS: '1000',
        WEIBAN_REQUEST_TIMEOUT_MS: '5000',
      },
      simulator: { latencyMs: 20 },
    });
    for (const formId of FORMS) world.simulator.submitMany(formId, 3);
    // The first container's four page reads take 6 s: its deadline gives up on them 2.5 s
    // into the run, while Weiban goes on processing them.
    world.simulator.fault({ kind: 'slow', delayMs: 6_000, endpoint: 'list', times: FORMS.length });
    const dying = world.container();
    // Every form's first page was given up on: the run made no progress, and says so.
    await expect(dying({ remainingMs: 3_000 })).rejects.toThrow(/no form could be polled/);
    const successor = world.container();

    const second = await successor({ remainingMs: 60_000 });
    const stats = world.simulator.stats();

    expect(stats.requests.list).toBeGreaterThanOrEqual(2 * FORMS.length);
    expect(second.forms.map((form) => form.outcome)).toEqual(FORMS.map(() => 'ok'));
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(stats.errors['10052']).toBeUndefined();
    expect(await world.received({ expected: 12 })).toHaveLength(12);
  });
});
