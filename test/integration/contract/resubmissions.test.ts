import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { toIso as iso } from '../../../lib/clock.js';
import { World } from '../../support/world.js';
import { receivedEvents, subscribe } from './support.js';

const HOUR_S = 3_600;

describe('resubmissions (EMIT_RESUBMISSIONS)', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  const nowS = () => Math.floor(world.clock.now() / 1000);
  const since = () => String(Math.floor(Date.now() / 1000) - HOUR_S);

  /** Runs every minute for `minutes`, each time in a fresh container half of the time. */
  async function runFor(minutes: number): Promise<void> {
    let invoke = world.container();
    for (let minute = 0; minute < minutes; minute += 1) {
      if (minute % 2 === 1) invoke = world.container();
      world.clock.advance(60_000);
      await invoke();
    }
  }

  it('publishes one weiban.form.submitted per submitter by default, resubmit or not', async () => {
    world = await World.create({ env: { START_FROM: since() } });
    const row = world.simulator.submit(842, { submit_at: nowS() - 300 });
    await world.container()();
    world.clock.advance(30_000);
    world.simulator.resubmit(842, row.u_id, nowS());

    await runFor(4);

    const events = await receivedEvents(world);
    expect(events.map((event) => [event.id, event.type])).toEqual([
      [`weiban:sim-corp:842:${row.u_id}`, 'weiban.form.submitted'],
    ]);
  });

  it('publishes each resubmission once as weiban.form.resubmitted when enabled', async () => {
    world = await World.create({
      env: { EMIT_RESUBMISSIONS: 'true', ANSWER_FORM_IDS: '842', START_FROM: since() },
    });
    const resubmitted = await subscribe(world, 'changes', {
      filterPolicy: { event_type: ['weiban.form.resubmitted'] },
    });
    const row = world.simulator.submit(842, { submit_at: nowS() - 300 });
    const other = world.simulator.submit(842, { submit_at: nowS() - 200 });
    await world.container()();
    world.clock.advance(30_000);
    const firstAgain = nowS();
    world.simulator.resubmit(842, row.u_id, firstAgain);

    // The lookback (600 s) reads the resubmission again in each of these runs.
    await runFor(4);
    world.clock.advance(10_000);
    const secondAgain = nowS();
    world.simulator.resubmit(842, row.u_id, secondAgain);
    await runFor(4);

    // SNS promises no order: sort by when each happened.
    const events = (await receivedEvents(world)).sort((a, b) =>
      a.occurred_at.localeCompare(b.occurred_at),
    );
    expect(events.map((event) => [event.id, event.type, event.occurred_at])).toEqual([
      [`weiban:sim-corp:842:${row.u_id}`, 'weiban.form.submitted', iso(row.submit_at)],
      [`weiban:sim-corp:842:${other.u_id}`, 'weiban.form.submitted', iso(other.submit_at)],
      [`weiban:sim-corp:842:${row.u_id}:${firstAgain}`, 'weiban.form.resubmitted', iso(firstAgain)],
      [
        `weiban:sim-corp:842:${row.u_id}:${secondAgain}`,
        'weiban.form.resubmitted',
        iso(secondAgain),
      ],
    ]);
    const last = events[3];
    expect(last?.data.submit_at).toBe(secondAgain);
    expect(last?.data.submissions?.map((submission) => submission.submit_at)).toEqual([
      secondAgain,
      firstAgain,
      row.submit_at,
    ]);
    expect((await resubmitted.events()).map((event) => event.id)).toEqual([
      `weiban:sim-corp:842:${row.u_id}:${firstAgain}`,
      `weiban:sim-corp:842:${row.u_id}:${secondAgain}`,
    ]);
  });

  it("keeps the first submission's event for replay and each resubmission's beside it", async () => {
    world = await World.create({ env: { EMIT_RESUBMISSIONS: 'true', START_FROM: since() } });
    const row = world.simulator.submit(842, { submit_at: nowS() - 300 });
    await world.container()();
    world.clock.advance(30_000);
    const again = nowS();
    world.simulator.resubmit(842, row.u_id, again);
    await runFor(2);

    const { doc } = world.aws;
    const { Item: record } = await doc.send(
      new GetCommand({ TableName: world.tableName, Key: { pk: 'FORM#842', sk: `U#${row.u_id}` } }),
    );
    const { Items: beside = [] } = await doc.send(
      new QueryCommand({
        TableName: world.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
        ExpressionAttributeValues: { ':pk': 'FORM#842', ':r': 'R#' },
      }),
    );
    const { Items: byTime = [] } = await doc.send(
      new QueryCommand({
        TableName: world.tableName,
        IndexName: 'by_submit_at',
        KeyConditionExpression: 'pk = :pk AND submit_at >= :from',
        ExpressionAttributeValues: { ':pk': 'FORM#842', ':from': 0 },
      }),
    );

    expect(record).toMatchObject({ submit_at: row.submit_at, last_submit_at: again });
    expect(JSON.parse(String(record?.event))).toMatchObject({
      id: `weiban:sim-corp:842:${row.u_id}`,
      type: 'weiban.form.submitted',
    });
    expect(beside.map((item) => [String(item.sk), Number(item.resubmit_at)])).toEqual([
      [`R#${row.u_id}#${again}`, again],
    ]);
    expect(JSON.parse(String(beside[0]?.event))).toMatchObject({
      id: `weiban:sim-corp:842:${row.u_id}:${again}`,
      type: 'weiban.form.resubmitted',
    });
    expect(byTime.map((item) => String(item.sk))).toEqual([`U#${row.u_id}`]);
  });
});
