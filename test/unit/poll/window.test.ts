import { describe, expect, it } from 'vitest';
import type { FormState } from '../../../lib/model.js';
import {
  assessPage,
  classify,
  initialState,
  planWindow,
  splitByRecent,
  trimRecent,
} from '../../../lib/poll/window.js';
import { submitter, submitters } from '../../fixtures/weiban.js';

const state = (overrides: Partial<FormState> = {}): FormState => ({
  formId: 842,
  version: 3,
  cursor: 10_000,
  origin: 1_000,
  startMode: 'time',
  ...overrides,
});

describe('initialState', () => {
  it('starts a START_FROM=now form at the present', () => {
    expect(initialState({ mode: 'now' }, 5_000)).toEqual({
      cursor: 5_000,
      origin: 5_000,
      startMode: 'now',
    });
  });

  it('starts a START_FROM=<time> form at that time, to backfill from it', () => {
    expect(initialState({ mode: 'time', at: 1_200 }, 5_000)).toEqual({
      cursor: 1_200,
      origin: 1_200,
      startMode: 'time',
    });
  });

  it('never starts in the future', () => {
    expect(initialState({ mode: 'time', at: 9_000 }, 5_000).cursor).toBe(5_000);
  });
});

describe('planWindow', () => {
  it('reads from LOOKBACK_SECONDS before the cursor up to now', () => {
    expect(planWindow(state(), 10_060, 600)).toEqual({ start: 9_400, end: 10_060, offset: 0 });
  });

  it('never reads before the origin', () => {
    expect(planWindow(state({ cursor: 1_100 }), 2_000, 600)).toEqual({
      start: 1_000,
      end: 2_000,
      offset: 0,
    });
  });

  it('resumes a saved continuation exactly, window and offset', () => {
    const continuation = { start: 9_000, end: 9_500, offset: 300 };

    expect(planWindow(state({ continuation }), 10_060, 600)).toEqual(continuation);
  });

  it('keeps the window non-empty when the clock is behind the cursor', () => {
    const window = planWindow(state({ cursor: 10_000 }), 9_000, 0);

    expect(window.end).toBeGreaterThanOrEqual(window.start);
  });
});

describe('assessPage', () => {
  const window = { start: 1_000, end: 2_000 };
  const base = { formId: 842, window, offset: 0, limit: 3, handled: new Set<string>() };

  it('ends the window on an empty page', () => {
    expect(assessPage({ ...base, total: 0, rows: [] }).exhausted).toBe(true);
  });

  it('ends the window when the rows read reach total', () => {
    const rows = submitters(3, { newestAt: 1_500 });

    expect(assessPage({ ...base, offset: 3, total: 6, rows })).toMatchObject({
      exhausted: true,
      nextOffset: 6,
    });
  });

  it('goes on after a full page while total says more rows exist', () => {
    const rows = submitters(3, { newestAt: 1_500 });

    expect(assessPage({ ...base, total: 7, rows })).toMatchObject({
      exhausted: false,
      nextOffset: 3,
    });
  });

  it('goes on after a short page while total says more rows exist (Weiban may cap limit)', () => {
    const rows = submitters(2, { newestAt: 1_500 });

    expect(assessPage({ ...base, total: 10, rows })).toMatchObject({
      exhausted: false,
      nextOffset: 2,
    });
  });

  it('distrusts a total smaller than the rows in hand and pages on while pages are full', () => {
    const rows = submitters(3, { newestAt: 1_500 });

    expect(assessPage({ ...base, offset: 3, total: 1, rows }).exhausted).toBe(false);
    expect(assessPage({ ...base, offset: 3, total: 1, rows: rows.slice(0, 2) }).exhausted).toBe(
      true,
    );
  });

  it('keeps only rows of this form, with status submit, inside the window', () => {
    const rows = [
      submitter({ u_id: 1, submit_at: 1_000 }),
      submitter({ u_id: 2, submit_at: 2_000 }),
      submitter({ u_id: 3, submit_at: 999 }),
      submitter({ u_id: 4, submit_at: 2_001 }),
      submitter({ u_id: 5, submit_at: 1_500, status: 'draft' }),
      submitter({ u_id: 6, submit_at: 1_500, form_id: 901 }),
    ];

    const assessed = assessPage({ ...base, limit: 10, total: 6, rows });

    expect(assessed.candidates.map((row) => row.u_id)).toEqual([1, 2]);
    expect(assessed.skipped).toBe(4);
  });

  it('counts rows already handled this run, and a u_id twice in one page, as repeats', () => {
    const rows = [
      submitter({ u_id: 7, submit_at: 1_500 }),
      submitter({ u_id: 8, submit_at: 1_500 }),
      submitter({ u_id: 8, submit_at: 1_500 }),
    ];

    const assessed = assessPage({ ...base, total: 3, rows, handled: new Set(['842:7']) });

    expect(assessed.candidates.map((row) => row.u_id)).toEqual([8]);
    expect(assessed.repeated).toBe(2);
  });
});

describe('classify', () => {
  const rows = [
    submitter({ u_id: 1, submit_at: 100 }),
    submitter({ u_id: 2, submit_at: 200 }),
    submitter({ u_id: 3, submit_at: 300 }),
  ];
  const recorded = new Map([
    [2, { submitAt: 200 }],
    [3, { submitAt: 250 }],
  ]);

  it('publishes only submitters never recorded, by default', () => {
    const result = classify(rows, recorded, false);

    expect(result.fresh.map((row) => row.u_id)).toEqual([1]);
    expect(result.resubmitted).toEqual([]);
    expect(result.duplicates).toBe(2);
  });

  it('treats a later submit_at of a recorded submitter as a resubmission when asked to', () => {
    const result = classify(rows, recorded, true);

    expect(result.fresh.map((row) => row.u_id)).toEqual([1]);
    expect(result.resubmitted.map((row) => row.u_id)).toEqual([3]);
    expect(result.duplicates).toBe(1);
  });
});

describe('the cache of recently recorded submitters', () => {
  it('keeps what is inside the next lookback, newest first, up to its cap', () => {
    const entries: [number, number][] = [
      [1, 1_000],
      [2, 1_500],
      [3, 1_499],
      [4, 1_600],
    ];

    expect(trimRecent(entries, 1_500)).toEqual({ '2': 1_500, '4': 1_600 });
    expect(trimRecent(entries, 0, 2)).toEqual({ '4': 1_600, '2': 1_500 });
  });

  it('confirms a duplicate from the cache, but leaves a later submit_at to the ledger when resubmissions count', () => {
    const known = new Map([
      [1, 100],
      [2, 200],
    ]);
    const rows = [
      submitter({ u_id: 1, submit_at: 100 }),
      submitter({ u_id: 2, submit_at: 250 }),
      submitter({ u_id: 3 }),
    ];

    const plain = splitByRecent(rows, known, false);
    const withResubmissions = splitByRecent(rows, known, true);

    expect([...plain.confirmed.keys()]).toEqual([1, 2]);
    expect(plain.unknown.map((row) => row.u_id)).toEqual([3]);
    expect([...withResubmissions.confirmed.keys()]).toEqual([1]);
    expect(withResubmissions.unknown.map((row) => row.u_id)).toEqual([2, 3]);
  });
});
