import { afterEach, describe, expect, it } from 'vitest';
import type { ReceivedMessage } from '../../../dev/topic.js';
import { eventIds, World } from '../../support/world.js';
import { cli, targetOf } from './support.js';

const HOUR_S = 3_600;

/** The SNS message exactly as first published: body text and attributes, by event id. */
const published = (messages: readonly ReceivedMessage[]) =>
  new Map(
    messages.map((message) => {
      const envelope = JSON.parse(message.raw.Body ?? '{}') as { Message: string };
      return [
        (message.body as { id: string }).id,
        { body: envelope.Message, attributes: message.attributes },
      ];
    }),
  );

describe('weiban-forms replay', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });
  const nowS = () => Math.floor(world.clock.now() / 1000);

  async function deliverThirty() {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    const base = nowS() - 3_000;
    const rows = world.simulator.submitMany(842, 30, (i) => ({
      submit_at: base + i * 60,
      ...(i % 3 === 0 && { user_city: '' }),
    }));
    await world.container()();
    const originals = published(await world.received({ expected: 30 }));
    return { rows, base, originals };
  }

  it('republishes a time range with the original ids, bodies and attributes', async () => {
    const { rows, base, originals } = await deliverThirty();
    const inRange = rows.filter(
      (row) => row.submit_at >= base + 600 && row.submit_at <= base + 1_200,
    );

    const result = await cli(world, [
      'replay',
      '--form',
      '842',
      '--since',
      String(base + 600),
      '--until',
      new Date((base + 1_200) * 1000).toISOString(),
      ...targetOf(world),
    ]);

    const replayed = await world.received({ expected: inRange.length });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${inRange.length} published, 0 failed`);
    expect(eventIds(replayed).sort()).toEqual(
      inRange.map((row) => `weiban:sim-corp:842:${row.u_id}`).sort(),
    );
    for (const [id, message] of published(replayed)) {
      expect(message).toEqual(originals.get(id));
    }
    expect(await world.received()).toHaveLength(0);
  });

  it('republishes one submitter with --u-id', async () => {
    const { rows, originals } = await deliverThirty();
    const row = rows[7];
    const id = `weiban:sim-corp:842:${row?.u_id ?? 0}`;

    const result = await cli(world, [
      'replay',
      '--form',
      '842',
      '--u-id',
      String(row?.u_id),
      ...targetOf(world),
    ]);

    const replayed = published(await world.received());
    expect(result.code).toBe(0);
    expect([...replayed.keys()]).toEqual([id]);
    expect(replayed.get(id)).toEqual(originals.get(id));
  });

  it('lists without publishing with --dry-run', async () => {
    const { rows, base } = await deliverThirty();

    const result = await cli(world, [
      'replay',
      '--form',
      '842',
      '--since',
      String(base),
      '--dry-run',
      ...targetOf(world),
    ]);

    expect(result.code).toBe(0);
    for (const row of rows) expect(result.stdout).toContain(`weiban:sim-corp:842:${row.u_id}\n`);
    expect(result.stdout).toContain('30 event(s) listed; nothing was published (--dry-run).');
    expect(await world.received()).toHaveLength(0);
  });

  it('says in one line that a u_id was never recorded', async () => {
    await deliverThirty();

    const result = await cli(world, [
      'replay',
      '--form',
      '842',
      '--u-id',
      '999999',
      ...targetOf(world),
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: form 842 has no recorded submitter with u_id 999999 in table ${world.tableName}\n`,
    );
    expect(await world.received()).toHaveLength(0);
  });

  it('needs a topic to publish to', async () => {
    world = await World.create();

    const result = await cli(world, [
      'replay',
      '--form',
      '842',
      '--since',
      'now',
      '--table',
      world.tableName,
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: replay publishes to the events topic: pass --topic ARN/);
  });
});
