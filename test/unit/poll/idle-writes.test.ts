import { describe, expect, it } from 'vitest';
import type { FormState } from '../../../lib/model.js';
import { planWrites } from '../../../lib/poll/idle-writes.js';
import { PollSchedule, type IdleWrite } from '../../../lib/poll/schedule.js';

const write = (formId: number, storedCursor: number, flagged = false): IdleWrite => ({
  formId,
  version: 1,
  change: { cursor: storedCursor + 180 },
  flagged,
  storedCursor,
  view: { cursor: storedCursor + 180 },
});

/** `count` lagging writes, form 1 lagging most. */
const lagging = (count: number, from = 1): IdleWrite[] =>
  Array.from({ length: count }, (_, i) => write(from + i, 1_000 + i));

const ids = (writes: readonly IdleWrite[]) => writes.map((each) => each.formId);

describe('planWrites: the requests a pass has left, among idle writes and the form list', () => {
  it('writes 100 forms a request, the most lagging first, and holds the rest', () => {
    const plan = planWrites(lagging(250), 2, { must: false, may: false });

    expect(plan.writes).toHaveLength(200);
    expect(ids(plan.writes).slice(0, 3)).toEqual([1, 2, 3]);
    expect(ids(plan.held)).toEqual(ids(lagging(50, 201)));
    expect(plan.listAlone).toBe(false);
  });

  it('reads a list that must be read first, then writes, clears of continuations and errors first, filling each request', () => {
    const flagged = [write(900, 5_000, true), write(901, 5_001, true)];

    const tight = planWrites([...lagging(150), ...flagged], 1, { must: true, may: true });
    const roomier = planWrites([...lagging(150), ...flagged], 2, { must: true, may: true });
    const noList = planWrites([...lagging(150), ...flagged], 1, { must: false, may: true });

    // One request: the list; every write waits.
    expect(tight.listAlone).toBe(true);
    expect(tight.writes).toEqual([]);
    // Two: the list, then the two clears and the 98 most lagging in one request.
    expect(roomier.listAlone).toBe(true);
    expect(ids(roomier.writes)).toEqual([900, 901, ...ids(lagging(98))]);
    expect(ids(roomier.held)).toEqual(ids(lagging(52, 99)));
    expect(ids(noList.writes)).toEqual(ids(roomier.writes));
    expect(noList.listAlone).toBe(false);
  });

  it('reads a list that may be read only with a request to spare after the writes', () => {
    expect(planWrites(lagging(100), 1, { must: false, may: true }).listAlone).toBe(false);
    expect(planWrites(lagging(100), 2, { must: false, may: true }).listAlone).toBe(true);
    expect(planWrites([], 1, { must: false, may: true }).listAlone).toBe(true);
  });

  it('sends nothing when the reads took every request, and holds every write', () => {
    const plan = planWrites(lagging(3), -1, { must: true, may: true });

    expect(plan.writes).toEqual([]);
    expect(ids(plan.held)).toEqual([1, 2, 3]);
    expect(plan.listAlone).toBe(false);
  });
});

describe('a held write, until a later pass sends it', () => {
  const stored: FormState = {
    formId: 842,
    version: 7,
    cursor: 1_000,
    origin: 0,
    startMode: 'now',
    continuation: { start: 900, end: 1_000, offset: 200 },
    lastError: { name: 'TransportError', message: 'timeout', at: 1_000_000 },
  };

  it('lets the next run read on from where the held write leaves the form, its continuation done', () => {
    const schedule = new PollSchedule();
    schedule.saw(new Map([[842, stored]]));
    schedule.hold({ ...write(842, 1_000, true), version: 7 });

    const seen = schedule.overlay(stored);

    expect(seen).toMatchObject({ version: 7, cursor: 1_180 });
    expect(seen?.continuation).toBeUndefined();
    expect(seen?.lastError).toBeUndefined();
    expect(schedule.lastRead(842)?.continuation).toBeUndefined();
    expect(schedule.heldWrites([842])).toHaveLength(1);
  });

  it('is dropped once the table holds a newer version, and the table read as it is', () => {
    const schedule = new PollSchedule();
    schedule.hold({ ...write(842, 1_000, true), version: 7 });
    const newer = { ...stored, version: 8 };
    schedule.saw(new Map([[842, newer]]));

    expect(schedule.heldWrites([842])).toEqual([]);
    expect(schedule.overlay(newer)).toEqual(newer);
  });
});
