import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { FormState } from '../../../lib/model.js';
import type { PollSettings } from '../../../lib/poll/context.js';
import { CORP_SCAN_PAUSE_MS } from '../../../lib/poll/corp-scan.js';
import { poll } from '../../../lib/poll/poll.js';
import { PollSchedule } from '../../../lib/poll/schedule.js';
import { RateLimitedError } from '../../../lib/weiban/errors.js';
import { submitter, submitters } from '../../fixtures/weiban.js';
import { FakeWeiban } from '../../support/fake-weiban.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../support/memory-stores.js';

const NOW_S = 1_800_000_000;
const FORMS = [1, 2, 3];

/** A poller whose findings allow the corp-wide listing, over forms 1–3 with state. */
function setup(settings: Partial<PollSettings> = {}) {
  const clock = new VirtualClock({ startMs: NOW_S * 1000 });
  const weiban = new FakeWeiban();
  const forms = new MemoryFormStateStore();
  const publisher = new MemoryPublisher();
  const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const schedule = new PollSchedule();
  const deps = {
    settings: {
      corpId: 'corp-1',
      formIds: FORMS,
      startFrom: { mode: 'now' },
      lookbackSeconds: 600,
      pageSize: 100,
      deadlineMarginMs: 10_000,
      emitResubmissions: false,
      answerFormIds: [],
      pace: { minMs: 0, perMinute: Number.POSITIVE_INFINITY },
      corpWide: true,
      ...settings,
    } satisfies PollSettings,
    weiban,
    forms,
    ledger: new MemoryLedger(),
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
  return {
    clock,
    weiban,
    forms,
    publisher,
    log,
    seed,
    run: (runId = 'run-1') => poll(deps, { runId, remainingMs: () => 60_000 }),
    /** The listings since the last call: 'corp' for one without form_id, else the form. */
    listings(): (number | 'corp')[] {
      const made = weiban.queries.splice(0).map((query) => query.formId ?? 'corp');
      return made;
    },
  };
}

describe('poll: the corp-wide listing (docs/guarantees.md#corp-wide)', () => {
  it('lists quiet forms with one call a pass and moves every cursor', async () => {
    const t = setup();

    const summary = await t.run();

    expect(t.listings()).toEqual(['corp']);
    expect(summary.forms.map((form) => [form.form_id, form.outcome, form.cursor])).toEqual(
      FORMS.map((formId) => [formId, 'ok', NOW_S]),
    );
    expect(t.publisher.calls).toBe(0);
  });

  it('gives a form with a new row its own run, which publishes it once', async () => {
    const t = setup();
    t.weiban.add(submitter({ form_id: 2, u_id: 50, submit_at: NOW_S - 5 }));

    const summary = await t.run();

    expect(t.listings()).toEqual(['corp', 2]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:2:50']);
    expect(summary.forms.map((form) => form.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(t.forms.states.get(2)?.cursor).toBe(NOW_S);

    // The next pass sees the row again inside the lookback: known, so one listing and no event.
    t.clock.advance(5_000);
    await t.run();
    expect(t.listings()).toEqual(['corp']);
    expect(t.publisher.ids()).toHaveLength(1);
  });

  it('tells apart two forms whose rows share a u_id', async () => {
    const t = setup();
    t.weiban.add(submitter({ form_id: 1, u_id: 7, submit_at: NOW_S - 5 }));
    await t.run();
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:7']);
    t.listings();
    t.clock.advance(5_000);
    t.weiban.add(submitter({ form_id: 3, u_id: 7, submit_at: NOW_S + 2 }));

    await t.run();

    expect(t.listings()).toEqual(['corp', 3]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:7', 'weiban:corp-1:3:7']);
  });

  it('finds a row that lands above the read position while the listing pages (G3)', async () => {
    const t = setup({ pageSize: 2 });
    // Five known rows of form 1 fill three pages; a row of form 3 lands on top before the second.
    for (const row of submitters(5, { formId: 1, newestAt: NOW_S - 10 })) {
      t.seed({
        formId: 1,
        recent: { ...t.forms.states.get(1)?.recent, [row.u_id]: row.submit_at },
      });
      t.weiban.add(row);
    }
    t.weiban.beforePage = (query, served) => {
      if (served === 2) t.weiban.add(submitter({ form_id: 3, u_id: 900, submit_at: NOW_S - 1 }));
      expect(query.limit).toBe(2);
    };

    await t.run();

    // Three pages, then the top again for what slid past, then form 3's own listing.
    expect(t.listings()).toEqual(['corp', 'corp', 'corp', 'corp', 3]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:3:900']);
  });

  it('lists each form on its own when the corp-wide listing fails, and loses nothing', async () => {
    const t = setup();
    t.weiban.add(submitter({ form_id: 1, u_id: 5, submit_at: NOW_S - 5 }));
    t.weiban.beforePage = (query) => {
      if (query.formId === undefined)
        throw new RateLimitedError('form/user/list', NOW_S * 1000 + 60_000);
    };

    await t.run();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:1:5']);
    expect(t.log.warn).toHaveBeenCalledWith(
      'corp-wide listing failed; each form is listed on its own for a minute',
      expect.objectContaining({ forms: 3 }),
    );
  });

  it('falls back when Weiban turns out to need form_id after all (21901)', async () => {
    const t = setup();
    t.weiban.formIdOptional = false;

    const summary = await t.run();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(summary.forms.every((form) => form.outcome === 'ok')).toBe(true);
  });

  it('stops after one page when rows of other forms would cost more pages than it saves', async () => {
    const t = setup({ pageSize: 10 });
    // Form 99 is busy and not polled: 40 rows, four pages, against three forms' one page each.
    t.weiban.add(...submitters(40, { formId: 99, newestAt: NOW_S - 1 }));

    await t.run();

    expect(t.listings()).toEqual(['corp', 1, 2, 3]);
    expect(t.log.info).toHaveBeenCalledWith(
      'corp-wide listing set aside for a minute: rows of other forms cost more than it saves',
      { rows: 40, otherForms: 40, forms: 3 },
    );
    // Not tried again for a minute, then tried again.
    t.clock.advance(CORP_SCAN_PAUSE_MS - 1_000);
    await t.run();
    expect(t.listings()).toEqual([1, 2, 3]);
    t.clock.advance(1_000);
    await t.run();
    expect(t.listings()[0]).toBe('corp');
  });

  it('reads on through many rows of the forms it lists: they would cost their own runs as much', async () => {
    const t = setup({ pageSize: 10 });
    // 40 rows of form 1, all recorded: four pages for the corp, as many as form 1 alone.
    const rows = submitters(40, { formId: 1, newestAt: NOW_S - 1 });
    t.weiban.add(...rows);
    t.seed({ formId: 1, recent: Object.fromEntries(rows.map((row) => [row.u_id, row.submit_at])) });

    await t.run();

    expect(t.listings()).toEqual(['corp', 'corp', 'corp', 'corp']);
    expect(t.publisher.calls).toBe(0);
  });

  it('leaves to their own runs a form far behind, one with a continuation and one leased elsewhere', async () => {
    const t = setup({ formIds: [1, 2, 3, 4, 5] });
    t.seed({ formId: 3, cursor: NOW_S - 3 * 600 });
    t.seed({ formId: 4, continuation: { start: NOW_S - 600, end: NOW_S - 60, offset: 100 } });
    t.seed({ formId: 5, lease: { owner: 'other', until: NOW_S * 1000 + 10_000 } });

    const summary = await t.run();

    expect(t.listings().sort()).toEqual([3, 4, 'corp']);
    expect(summary.forms.find((form) => form.form_id === 5)?.outcome).toBe('busy');
  });

  it('is not used with the mode off, nor for a single form', async () => {
    const off = setup({ corpWide: false });
    await off.run();
    expect(off.listings()).toEqual([1, 2, 3]);

    const one = setup({ formIds: [1] });
    await one.run();
    expect(one.listings()).toEqual([1]);
  });

  it('defers every form untouched when there is no time for its first page', async () => {
    const t = setup({ deadlineMarginMs: 61_000 });

    const summary = await t.run();

    expect(t.listings()).toEqual([]);
    expect(summary.forms.map((form) => form.outcome)).toEqual(['deferred', 'deferred', 'deferred']);
  });

  it('lets the budget poll every quiet form at the interval: one call a hundred forms', () => {
    const schedule = new PollSchedule();
    const formIds = Array.from({ length: 300 }, (_, index) => index + 1);
    const pace = { minMs: 4_000, perMinute: 100 };

    // One listing each: 300 calls a pass do not fit 80 a minute, so each form waits 225 s.
    expect(schedule.cadence(formIds, NOW_S * 1000, pace).coldMs).toBe(225_000);
    // Three listings a pass, 45 a minute: every form at the interval.
    expect(schedule.cadence(formIds, NOW_S * 1000, pace, true)).toMatchObject({
      coldMs: 4_000,
      callsPerMinute: 45,
    });
  });
});
