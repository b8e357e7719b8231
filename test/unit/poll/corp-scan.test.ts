import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { FormState } from '../../../lib/model.js';
import { corpWideFits } from '../../../lib/poll/cadence.js';
import type { PollSettings } from '../../../lib/poll/context.js';
import { CORP_SCAN_PAUSE_MS } from '../../../lib/poll/corp-scan.js';
import { poll } from '../../../lib/poll/poll.js';
import { PollSchedule } from '../../../lib/poll/schedule.js';
import { RateLimitedError } from '../../../lib/weiban/errors.js';
import { pollSettings } from '../../fixtures/poll-settings.js';
import { submitter, submitters } from '../../fixtures/weiban.js';
import { FakeWeiban } from '../../support/fake-weiban.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../support/memory-stores.js';

const NOW_S = 1_800_000_000;
const FORMS = [1, 2, 3];
/** POLL_INTERVAL_SECONDS: the passes between two sweeps come this far apart. */
const PASS_MS = 4_000;

/**
 * A poller whose findings allow the corp-wide listing, over forms with state. `sweep()` is an
 * invocation's first pass (every form reads its whole lookback with its own listing); `pass()`
 * is one of the passes after it, PASS_MS later, where the corp-wide listing serves.
 */
function setup(settings: Partial<PollSettings> = {}) {
  const clock = new VirtualClock({ startMs: NOW_S * 1000 });
  const weiban = new FakeWeiban();
  const forms = new MemoryFormStateStore();
  const ledger = new MemoryLedger();
  const publisher = new MemoryPublisher();
  const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const schedule = new PollSchedule();
  const deps = {
    settings: pollSettings({
      formIds: FORMS,
      pace: { minMs: PASS_MS, perMinute: Number.POSITIVE_INFINITY },
      corpWide: true,
      ...settings,
    }),
    weiban,
    forms,
    ledger,
    publisher,
    clock,
    log,
    schedule,
  };
  const seed = (state: Partial<FormState> & { formId: number }) =>
    forms.states.set(state.formId, {
      version: 1,
      cursor: NOW_S - 60,
      origin: NOW_S - 86_400,
      startMode: 'now',
      ...state,
    });
  for (const formId of settings.formIds ?? FORMS) seed({ formId });
  const run = (firstPass: boolean, remainingMs: () => number = () => 60_000) =>
    poll(deps, { runId: `run-${clock.now()}`, remainingMs }, { firstPass });
  return {
    clock,
    weiban,
    forms,
    ledger,
    publisher,
    log,
    schedule,
    seed,
    sweep: () => run(true),
    pass: (remainingMs?: () => number) => {
      clock.advance(PASS_MS);
      return run(false, remainingMs);
    },
    /** The listings since the last call: 'corp' for one without form_id, else the form. */
    listings(): (number | 'corp')[] {
      return weiban.queries.splice(0).map((query) => query.formId ?? 'corp');
    },
  };
}

/** A poller that has swept once: each form's own listing, cursors at NOW_S. */
async function swept(settings: Partial<PollSettings> = {}) {
  const t = setup(settings);
  await t.sweep();
  expect(t.listings()).toEqual(settings.formIds ?? FORMS);
  return t;
}

describe('poll: the corp-wide listing (docs/guarantees.md#corp-wide)', () => {
  it('lists every form with one call a pass between sweeps, and keeps their cursors', async () => {
    const t = await swept();

    const summary = await t.pass();

    expect(t.listings()).toEqual(['corp']);
    expect(summary.forms.map((form) => [form.form_id, form.outcome, form.cursor])).toEqual(
      FORMS.map((formId) => [formId, 'ok', NOW_S]),
    );
    expect(t.publisher.calls).toBe(0);
  });

  it('gives a form with a new row its own run, which publishes it once', async () => {
    const t = await swept();
    t.weiban.add(submitter({ form_id: 2, u_id: 50, submit_at: NOW_S + 2 }));

    const summary = await t.pass();

    expect(t.listings()).toEqual(['corp', 2]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:2:50']);
    expect(summary.forms.find((form) => form.form_id === 2)).toMatchObject({
      outcome: 'ok',
      published: 1,
      cursor: NOW_S + 4,
    });

    // The next pass meets the row again inside the overlap: known, so one listing, no event.
    await t.pass();
    expect(t.listings()).toEqual(['corp']);
    expect(t.publisher.ids()).toHaveLength(1);
  });

  it('reads no state on a quiet pass, and a row another process published costs no second event', async () => {
    const t = await swept();
    const before = t.forms.requests;

    await t.pass();

    expect(t.forms.requests).toBe(before);
    // Another container publishes and records a row of form 2; this one's read of form 2 is
    // older, so the row looks new: form 2's own run settles it from the table and the ledger.
    t.weiban.add(submitter({ form_id: 2, u_id: 60, submit_at: NOW_S + 5 }));
    t.ledger.records.set('2:60', { uId: 60, submitAt: NOW_S + 5, event: '{}' });
    t.seed({ formId: 2, version: 7, cursor: NOW_S + 6, recent: { '60': NOW_S + 5 } });
    t.listings();

    await t.pass();
    await t.pass();

    expect(t.listings()).toEqual(['corp', 2, 'corp']);
    expect(t.publisher.calls).toBe(0);
  });

  it('delivers at the next sweep a row the corp-wide listing left out', async () => {
    const t = await swept();
    t.weiban.corpListingOmits = new Set([3]);
    t.weiban.add(submitter({ form_id: 3, u_id: 70, submit_at: NOW_S + 1 }));

    for (let pass = 0; pass < 14; pass += 1) await t.pass();

    expect(t.publisher.ids()).toEqual([]);
    // The cursor never moved past the row: the corp-wide listing moves no cursor.
    expect(t.forms.states.get(3)?.cursor).toBe(NOW_S - 60);
    expect(t.schedule.cursorOf(3)).toBe(NOW_S);
    expect(new Set(t.listings())).toEqual(new Set(['corp']));

    // A minute after the last sweep, within the same invocation: each form's own listing.
    await t.pass();

    expect(t.listings()).toEqual(FORMS);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:3:70']);
  });

  it('polls every form every pass when the listing fits a budget that one listing per form would not', async () => {
    const formIds = Array.from({ length: 30 }, (_, index) => index + 1);
    // 80 % of 60 is 48 a minute: 30 forms at 4 s would be 450; 30 sweeps and 15 listings fit.
    const t = await swept({ formIds, pace: { minMs: PASS_MS, perMinute: 60 } });

    const summary = await t.pass();

    expect(t.schedule.corpPlanned).toBe(true);
    expect(t.listings()).toEqual(['corp']);
    expect(summary.forms.map((form) => form.outcome)).toEqual(formIds.map(() => 'ok'));
  });

  it('keeps forms with an error to the pace of one listing per form, then lists them with the rest', async () => {
    const formIds = [1, 2, 3, 4, 5, 6];
    // 80 % of 40 is 32 a minute: six forms alone come round every 12 s, the listing every pass.
    const t = await swept({ formIds, pace: { minMs: PASS_MS, perMinute: 40 } });
    for (const formId of [3, 4, 5, 6]) {
      t.schedule.forget(formId);
      t.seed({
        formId,
        version: 5,
        cursor: NOW_S,
        lastError: { name: 'TransportError', message: 'timeout', at: NOW_S * 1000 },
      });
    }

    const first = await t.pass();
    await t.pass();
    const third = await t.pass();
    const fourth = await t.pass();

    // +4 s: not their turn; +8 s neither; +12 s their own runs clear the errors; then the listing.
    expect(first.forms.map((form) => form.form_id)).toEqual([1, 2]);
    expect(t.listings()).toEqual(['corp', 'corp', 'corp', 3, 4, 5, 6, 'corp']);
    expect(third.forms.map((form) => form.form_id)).toEqual(formIds);
    expect(fourth.forms.map((form) => form.outcome)).toEqual(formIds.map(() => 'ok'));
  });

  it('tries the listing again a minute after one too long for the budget', async () => {
    // 80 % of 30 is 24 a minute: one-page listings fit (3 sweeps + 15), three-page ones do not.
    const t = setup({ pageSize: 10, pace: { minMs: PASS_MS, perMinute: 30 } });
    const rows = submitters(25, { formId: 1, newestAt: NOW_S - 1 });
    t.weiban.add(...rows);
    t.seed({ formId: 1, recent: Object.fromEntries(rows.map((row) => [row.u_id, row.submit_at])) });
    await t.sweep();
    t.listings();

    await t.pass();
    expect(t.listings()).toEqual(['corp', 'corp', 'corp']);
    await t.pass();
    expect(t.schedule.corpPlanned).toBe(false);
    t.clock.advance(60_000 - 2 * PASS_MS);
    t.listings();

    await t.pass();

    expect(t.schedule.corpPlanned).toBe(true);
  });

  it('tells apart two forms whose rows share a u_id', async () => {
    const t = await swept();
    t.weiban.add(submitter({ form_id: 1, u_id: 7, submit_at: NOW_S + 1 }));
    await t.pass();
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:7']);
    t.listings();
    t.weiban.add(submitter({ form_id: 3, u_id: 7, submit_at: NOW_S + 6 }));

    await t.pass();

    expect(t.listings()).toEqual(['corp', 3]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:7', 'weiban:corp-1:3:7']);
  });

  it('finds a row that lands above the read position while the listing pages (G3)', async () => {
    const t = setup({ pageSize: 2 });
    // Five rows of form 1, published by the sweep; a row of form 3 lands on top mid-listing.
    t.weiban.add(...submitters(5, { formId: 1, newestAt: NOW_S - 10 }));
    t.seed({ formId: 1, cursor: NOW_S - 60, startMode: 'time' });
    await t.sweep();
    expect(t.publisher.ids()).toHaveLength(5);
    t.listings();
    t.weiban.beforePage = (query, served) => {
      if (served === 2) t.weiban.add(submitter({ form_id: 3, u_id: 900, submit_at: NOW_S + 1 }));
      expect(query.limit).toBe(2);
    };

    await t.pass();

    // Three pages, then the top again for what slid past, then form 3's own listing.
    expect(t.listings()).toEqual(['corp', 'corp', 'corp', 'corp', 3]);
    expect(t.publisher.ids()).toContain('weiban:corp-1:3:900');
  });

  it('leaves alone a row of the union window that is outside the form’s own window', async () => {
    const t = await swept();
    // Form 1 read 600 s back at the sweep and still does between sweeps (its error cleared
    // below); form 2's own window starts 30 s behind its cursor.
    t.seed({ formId: 1, version: 9, cursor: NOW_S - 500 });
    t.weiban.add(submitter({ form_id: 2, u_id: 40, submit_at: NOW_S - 100 }));

    await t.pass();

    // Form 2's sweep already owned that second; the listing gives it no run of its own.
    expect(t.listings()).toEqual(['corp']);
  });

  it('gives a resubmission its own run when EMIT_RESUBMISSIONS is on', async () => {
    const t = await swept({ emitResubmissions: true });
    t.seed({ formId: 2, version: 9, cursor: NOW_S, recent: { '50': NOW_S - 20 } });
    t.ledger.records.set('2:50', { uId: 50, submitAt: NOW_S - 20, event: '{}' });
    t.weiban.add(submitter({ form_id: 2, u_id: 50, submit_at: NOW_S + 2 }));

    await t.pass();

    expect(t.listings()).toEqual(['corp', 2]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:2:50:1800000002']);
  });

  it('caches what a run found already recorded, so later passes need no run of their own', async () => {
    const t = setup();
    // Recorded by a run that crashed before it saved its cache.
    t.ledger.records.set('2:50', { uId: 50, submitAt: NOW_S - 20, event: '{}' });
    t.weiban.add(submitter({ form_id: 2, u_id: 50, submit_at: NOW_S - 20 }));
    await t.sweep();
    t.listings();

    await t.pass();
    await t.pass();

    expect(t.listings()).toEqual(['corp', 'corp']);
    expect(t.publisher.calls).toBe(0);
  });

  it('lists each form on its own for a minute when the corp-wide listing fails, and loses nothing', async () => {
    const t = await swept();
    t.weiban.add(submitter({ form_id: 1, u_id: 5, submit_at: NOW_S + 1 }));
    t.weiban.beforePage = (query) => {
      if (query.formId === undefined) throw new RateLimitedError('form/user/list', 0);
    };

    await t.pass();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:5']);
    expect(t.log.warn).toHaveBeenCalledWith(
      'corp-wide listing failed; each form is listed on its own for a minute',
      expect.objectContaining({ forms: 3 }),
    );
    t.weiban.beforePage = undefined;
    await t.pass();
    expect(t.listings()).toEqual([1, 2, 3]);
  });

  it('falls back when Weiban turns out to need form_id after all (21901)', async () => {
    const t = await swept();
    t.weiban.formIdOptional = false;

    const summary = await t.pass();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(summary.forms.every((form) => form.outcome === 'ok')).toBe(true);
  });

  it('sets itself aside for a minute when rows of other forms would cost more pages than it saves', async () => {
    const t = await swept({ pageSize: 10 });
    // Form 99 is busy and not polled: 33 rows in the window, four pages, against three forms'
    // one page each.
    t.weiban.add(...submitters(40, { formId: 99, newestAt: NOW_S + 1 }));

    await t.pass();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(t.log.info).toHaveBeenCalledWith(
      'corp-wide listing set aside for a minute: rows of other forms cost more than it saves',
      { rows: 33, otherForms: 33, forms: 3 },
    );
    t.clock.advance(CORP_SCAN_PAUSE_MS - 2 * PASS_MS);
    await t.pass();
    expect(t.listings()).toEqual([1, 2, 3]);
    await t.pass();
    expect(t.listings()[0]).toBe('corp');
  });

  it('reads on through many rows of the forms it lists: their own runs would cost as much', async () => {
    const t = setup({ pageSize: 10 });
    t.weiban.add(...submitters(40, { formId: 1, newestAt: NOW_S - 1 }));
    t.seed({ formId: 1, startMode: 'time' });
    await t.sweep();
    expect(t.publisher.ids()).toHaveLength(40);
    t.listings();

    await t.pass();

    // 40 rows of form 1, all recorded: four pages for the corp, as many as form 1 alone.
    expect(t.listings()).toEqual(['corp', 'corp', 'corp', 'corp']);
  });

  it('leaves to their own runs a form far behind, one with a continuation, one with an error and one leased elsewhere', async () => {
    const t = await swept({ formIds: [1, 2, 3, 4, 5, 6] });
    // Written elsewhere since this process read them: it reads them again for the listing.
    for (const formId of [3, 4, 5, 6]) t.schedule.forget(formId);
    t.seed({ formId: 3, version: 9, cursor: NOW_S - 3 * 600 });
    t.seed({
      formId: 4,
      version: 9,
      continuation: { start: NOW_S - 600, end: NOW_S, offset: 100 },
    });
    t.seed({
      formId: 5,
      version: 9,
      cursor: NOW_S,
      lease: { owner: 'other', until: NOW_S * 1000 + 60_000 },
    });
    t.seed({
      formId: 6,
      version: 9,
      cursor: NOW_S,
      lastError: { name: 'TransportError', message: 'timeout', at: NOW_S * 1000 },
    });

    const summary = await t.pass();

    expect(t.listings().sort()).toEqual([3, 4, 6, 'corp']);
    expect(summary.forms.find((form) => form.form_id === 5)?.outcome).toBe('busy');
  });

  it('steps aside at the deadline without pausing, and the forms defer as ever', async () => {
    const t = await swept();
    // Time enough to begin the pass, none left for a page.
    let asked = 0;
    const summary = await t.pass(() => (asked++ === 0 ? 20_000 : 5_000));

    expect(t.listings()).toEqual([]);
    expect(summary.forms.map((form) => form.outcome)).toEqual(['deferred', 'deferred', 'deferred']);
    await t.pass();
    expect(t.listings()).toEqual(['corp']);
  });

  it('keeps a pass that reads a form it had forgotten, runs the errored ones and clears their errors within ⌈F/100⌉ + 1 requests', async () => {
    const formIds = [1, 2, 3, 4, 5, 6];
    const t = await swept({ formIds, pace: { minMs: PASS_MS, perMinute: 40 } });
    const error = { name: 'TransportError', message: 'timeout', at: NOW_S * 1000 };
    for (const formId of [3, 4, 5, 6]) {
      t.schedule.forget(formId);
      t.seed({ formId, version: 5, cursor: NOW_S, lastError: error });
    }
    const perPass: number[] = [];
    for (let pass = 0; pass < 6; pass += 1) {
      // Another process wrote form 1 (as after a version conflict): read again this pass.
      if (pass === 2) t.schedule.forget(1);
      const before = t.forms.requests;
      const summary = await t.pass();
      perPass.push(t.forms.requests - before);
      expect(summary.forms.every((form) => form.outcome === 'ok')).toBe(true);
    }

    for (const requests of perPass) expect(requests).toBeLessThanOrEqual(2);
    for (const formId of [3, 4, 5, 6])
      expect(t.forms.states.get(formId)?.lastError).toBeUndefined();
  });

  it('is not used with the mode off, nor for a single form', async () => {
    const off = await swept({ corpWide: false });
    await off.pass();
    expect(off.listings()).toEqual([1, 2, 3]);

    const one = await swept({ formIds: [1] });
    await one.pass();
    expect(one.listings()).toEqual([1]);
  });
});

describe('corpWideFits', () => {
  const pace = { minMs: 4_000, perMinute: 500 };

  it('carries every form at the interval while sweeps, listings and active forms fit 80 %', () => {
    // 300 sweeps + 15 listings + 20 forms finding rows = 335 of 400.
    expect(corpWideFits({ forms: 300, ownRuns: 20, listingPages: 1 }, pace)).toBe(true);
    // 380 + 15 + 10 = 405.
    expect(corpWideFits({ forms: 380, ownRuns: 10, listingPages: 1 }, pace)).toBe(false);
    // A listing of three pages costs three calls a pass: 300 + 45 + 20 = 365.
    expect(corpWideFits({ forms: 300, ownRuns: 20, listingPages: 3 }, pace)).toBe(true);
    expect(corpWideFits({ forms: 300, ownRuns: 20, listingPages: 6 }, pace)).toBe(false);
  });

  it('is left for form-by-form pacing when the budget is too small for it', async () => {
    const t = await swept({ pace: { minMs: PASS_MS, perMinute: 5 } });

    await t.pass();

    expect(t.schedule.corpPlanned).toBe(false);
    expect(t.listings()).not.toContain('corp');
  });
});
