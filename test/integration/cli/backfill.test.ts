import { afterEach, describe, expect, it } from 'vitest';
import { formEventSchema } from '../../../lib/events.js';
import { eventIds, World } from '../../support/world.js';
import { cli, simulatorEnv, targetOf } from './support.js';

const idOf = (row: { u_id: number }) => `weiban:sim-corp:842:${row.u_id}`;

describe('weiban-forms backfill', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });
  const nowS = () => Math.floor(world.clock.now() / 1000);
  const backfill = (args: string[], options: Parameters<typeof cli>[2] = {}) =>
    cli(world, ['backfill', '--form', '842', ...args, ...targetOf(world)], {
      env: simulatorEnv(world),
      ...options,
    });

  it('publishes only the submitters not yet recorded, and records them', async () => {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - 1_200) },
    });
    const history = world.simulator.submitMany(842, 40, (i) => ({
      submit_at: nowS() - 3_000 + i * 10,
    }));
    world.simulator.submitMany(842, 20, (i) => ({ submit_at: nowS() - 1_000 + i * 10 }));
    await world.container()();
    expect(await world.received({ expected: 20 })).toHaveLength(20);

    const first = await backfill(['--since', String(nowS() - 3_600)]);
    const backfilled = await world.received({ expected: 40 });
    const again = await backfill(['--since', String(nowS() - 3_600)]);

    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      'Backfilled form 842: 60 row(s) read, 40 published, 20 already recorded',
    );
    expect(eventIds(backfilled).sort()).toEqual(history.map(idOf).sort());
    for (const message of backfilled) {
      expect(formEventSchema.parse(message.body).type).toBe('weiban.form.submitted');
    }
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('60 row(s) read, 0 published, 60 already recorded');
    expect(await world.received()).toHaveLength(0);
  });

  it('resumes after an interruption at the page it stopped on', async () => {
    world = await World.create();
    const rows = world.simulator.submitMany(842, 250, (i) => ({ submit_at: nowS() - 3_000 + i }));
    const interrupt = new AbortController();
    let listRequests = 0;
    // Ctrl-C as the third page is requested.
    const fetchUntilCtrlC: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.includes('/form/user/list') && ++listRequests === 3) interrupt.abort();
      return fetch(input, init);
    };
    const args = ['--since', String(nowS() - 3_600), '--page-size', '50'];

    const stopped = await backfill(args, { fetch: fetchUntilCtrlC, signal: interrupt.signal });
    const before = await world.received({ expected: 100 });
    world.simulator.resetStats();
    const resumed = await backfill(args);
    const after = await world.received({ expected: 150 });

    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toBe(
      'Interrupted after 100 of 250 rows (100 published). Run the same command again to resume.\n',
    );
    expect(before).toHaveLength(100);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      /Resuming the backfill of form 842 begun \d+s ago, at row 100 of 250\./,
    );
    expect(resumed.stdout).toContain('250 row(s) read, 250 published, 0 already recorded');
    expect(world.simulator.stats().listCalls.map((call) => call.offset)).toEqual([100, 150, 200]);
    expect([...eventIds(before), ...eventIds(after)].sort()).toEqual(rows.map(idOf).sort());
  });

  it('keeps to its in-flight limit and adds answers for forms in ANSWER_FORM_IDS', async () => {
    world = await World.create({ simulator: { latencyMs: 30 } });
    world.simulator.submitMany(842, 30, (i) => ({ submit_at: nowS() - 600 + i }));

    const result = await backfill(['--since', String(nowS() - 3_600), '--max-in-flight', '2'], {
      env: { ...simulatorEnv(world), ANSWER_FORM_IDS: '842' },
    });

    const events = (await world.received({ expected: 30 })).map((message) =>
      formEventSchema.parse(message.body),
    );
    expect(result.code).toBe(0);
    expect(events).toHaveLength(30);
    for (const event of events) expect(event.data.submissions?.length).toBe(1);
    const stats = world.simulator.stats();
    expect(stats.requests.submissions).toBe(30);
    expect(stats.maxInFlight).toBe(2);
  });

  it('refuses limits above Weiban’s', async () => {
    world = await World.create();

    const result = await backfill(['--since', 'now', '--max-in-flight', '5']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: --max-in-flight must be a whole number from 1 to 4; got "5"\n',
    );
  });

  it('stops on a Weiban failure with one sentence saying how to resume', async () => {
    world = await World.create();
    world.simulator.submitMany(842, 5, (i) => ({ submit_at: nowS() - 600 + i }));
    world.simulator.fault({ kind: 'html502', endpoint: 'list', times: 10 });

    const result = await backfill(['--since', String(nowS() - 3_600)]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: backfill of form 842 stopped: Weiban form\/user\/list gave no usable answer: HTTP 502\. Run the same command again to resume\.\n$/,
    );
    expect(await world.received()).toHaveLength(0);
  });
});
