import { describe, expect, it } from 'vitest';
import { planWrites } from '../../../lib/poll/idle-writes.js';
import type { IdleWrite } from '../../../lib/poll/schedule.js';

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

  it('clears continuations and errors first, then reads a list that must be read, then writes the lagging', () => {
    const flagged = [write(900, 5_000, true), write(901, 5_001, true)];

    const tight = planWrites([...lagging(100), ...flagged], 1, { must: true, may: true });
    const roomier = planWrites([...lagging(100), ...flagged], 2, { must: true, may: true });

    // One request: the flagged forms; the list and the lagging ones wait.
    expect(ids(tight.writes)).toEqual([900, 901]);
    expect(tight.listAlone).toBe(false);
    expect(tight.held).toHaveLength(100);
    // Two: the flagged forms, then the list.
    expect(ids(roomier.writes)).toEqual([900, 901]);
    expect(roomier.listAlone).toBe(true);
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
