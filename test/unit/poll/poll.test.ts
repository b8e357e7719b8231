import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { FormState } from '../../../lib/model.js';
import type { PollSettings, RunContext } from '../../../lib/poll/context.js';
import { leaseTermMs } from '../../../lib/poll/form-run.js';
import { poll, WRITE_LAG_BOUND_SECONDS } from '../../../lib/poll/poll.js';
import { PollSchedule } from '../../../lib/poll/schedule.js';
import { MalformedResponseError, RateLimitedError } from '../../../lib/weiban/errors.js';
import { pollSettings } from '../../fixtures/poll-settings.js';
import { submitter, submitters } from '../../fixtures/weiban.js';
import { FakeWeiban } from '../../support/fake-weiban.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../support/memory-stores.js';

const NOW_S = 1_800_000_000;

function setup(settings: Partial<PollSettings> = {}, formConcurrency?: number) {
  const clock = new VirtualClock({ startMs: NOW_S * 1000 });
  const weiban = new FakeWeiban();
  const forms = new MemoryFormStateStore();
  const ledger = new MemoryLedger();
  const publisher = new MemoryPublisher();
  const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  // Every form due on every run: these tests are about one pass (passes.test.ts paces them).
  const fullSettings = pollSettings(settings);
  let remaining = 60_000;
  const ctx = (runId = 'run-1'): RunContext => ({ runId, remainingMs: () => remaining });
  // One schedule for the test: the poller's process, across its runs.
  const schedule = new PollSchedule();
  const run = (runId?: string, pass?: { firstPass: boolean }) =>
    poll(
      {
        settings: fullSettings,
        weiban,
        forms,
        ledger,
        publisher,
        clock,
        log,
        schedule,
        ...(formConcurrency !== undefined && { formConcurrency }),
      },
      ctx(runId),
      pass,
    );
  const seed = (state: Partial<FormState> & { formId: number }) => {
    forms.states.set(state.formId, {
      version: 1,
      cursor: NOW_S - 60,
      origin: NOW_S - 86_400,
      startMode: 'now',
      ...state,
    });
  };
  return {
    clock,
    weiban,
    forms,
    ledger,
    publisher,
    log,
    run,
    seed,
    setRemaining: (ms: number) => (remaining = ms),
  };
}

const stateOf = (forms: MemoryFormStateStore, formId = 842) => {
  const state = forms.states.get(formId);
  if (state === undefined) throw new Error(`no state for form ${formId}`);
  return state;
};

describe('poll: first run (G7)', () => {
  it('starts a new form at the present with START_FROM=now and publishes no history', async () => {
    const t = setup();
    t.weiban.add(...submitters(5, { newestAt: NOW_S - 10 }));

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({
      form_id: 842,
      outcome: 'initialized',
      published: 0,
      cursor: NOW_S,
    });
    expect(t.weiban.queries).toHaveLength(0);
    expect(stateOf(t.forms)).toMatchObject({ cursor: NOW_S, origin: NOW_S, startMode: 'now' });
  });

  it('publishes only what arrives after a START_FROM=now start', async () => {
    const t = setup();
    t.weiban.add(submitter({ u_id: 1, submit_at: NOW_S - 10 }));
    await t.run();
    t.clock.advance(60_000);
    t.weiban.add(submitter({ u_id: 2, submit_at: NOW_S + 30 }));

    await t.run();

    expect(t.publisher.ids()).toEqual(['weiban:corp-1:842:2']);
  });

  it('backfills from a START_FROM time', async () => {
    const t = setup({ startFrom: { mode: 'time', at: NOW_S - 3_600 } });
    t.weiban.add(
      ...submitters(3, { newestAt: NOW_S - 100 }),
      submitter({ u_id: 99, submit_at: NOW_S - 7_200 }),
    );

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({
      outcome: 'ok',
      published: 3,
      cursor: NOW_S,
      window: { start: NOW_S - 3_600, end: NOW_S },
    });
    expect(t.publisher.ids()).toHaveLength(3);
    expect(t.publisher.ids()).not.toContain('weiban:corp-1:842:99');
  });

  it("keeps a form's stored start when START_FROM changes later", async () => {
    const t = setup({ startFrom: { mode: 'time', at: NOW_S - 999_999 } });
    t.seed({ formId: 842, cursor: NOW_S - 60, origin: NOW_S - 600 });

    await t.run();

    expect(t.weiban.queries[0]?.startTime).toBe(NOW_S - 601);
  });
});

describe('poll: windows and pages (G1–G3)', () => {
  it('drains every page of the frozen window and moves the cursor to its end', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(250, { newestAt: NOW_S - 1 }));
    t.clock.advance(0);

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({
      outcome: 'ok',
      fetched: 250,
      new: 250,
      published: 250,
      pages: 3,
      cursor: NOW_S,
    });
    expect(new Set(t.publisher.ids()).size).toBe(250);
    expect(t.weiban.queries.map((q) => [q.offset, q.endTime])).toEqual([
      [0, NOW_S],
      [100, NOW_S],
      [200, NOW_S],
    ]);
    expect(stateOf(t.forms)).toMatchObject({ cursor: NOW_S });
    expect(stateOf(t.forms).lease).toBeUndefined();
  });

  it('rereads the lookback window but publishes nothing twice', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(3, { newestAt: NOW_S - 30 }));
    await t.run();
    t.clock.advance(60_000);

    const second = await t.run();

    expect(second.forms[0]).toMatchObject({
      outcome: 'ok',
      fetched: 3,
      duplicate: 3,
      new: 0,
      published: 0,
    });
    expect(t.publisher.ids()).toHaveLength(3);
    expect(t.weiban.queries[1]?.startTime).toBe(NOW_S - 601);
  });

  it('settles rows it published within the lookback from the state, without reading the ledger', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(5, { newestAt: NOW_S - 30 }));
    await t.run();
    expect(Object.keys(stateOf(t.forms).recent ?? {})).toHaveLength(5);
    const ledgerReads = t.ledger.requests;
    t.clock.advance(60_000);

    const second = await t.run();

    expect(second.forms[0]).toMatchObject({ outcome: 'ok', duplicate: 5, published: 0 });
    expect(t.ledger.requests).toBe(ledgerReads);
    expect(t.publisher.ids()).toHaveLength(5);
  });

  it('forgets cached submitters once they fall out of the lookback', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(3, { newestAt: NOW_S - 30 }));
    await t.run();
    t.clock.advance(700_000);

    await t.run();

    expect(stateOf(t.forms).recent).toEqual({});
  });

  it('asks the ledger, not a stale cache, before publishing a resubmission', async () => {
    const t = setup({ emitResubmissions: true });
    t.seed({ formId: 842, cursor: NOW_S - 60, recent: { '7': NOW_S - 100 } });
    // Another run published and recorded the resubmission, then died before its commit.
    t.ledger.records.set('842:7', { uId: 7, submitAt: NOW_S - 10, event: '{}' });
    t.weiban.add(submitter({ u_id: 7, submit_at: NOW_S - 10 }));

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', duplicate: 1, published: 0 });
    expect(t.publisher.sent).toHaveLength(0);
  });

  it('still delivers a submitter that arrives late, inside the lookback', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    await t.run();
    t.clock.advance(60_000);
    t.weiban.add(submitter({ u_id: 5, submit_at: NOW_S - 120 }));

    await t.run();

    expect(t.publisher.ids()).toEqual(['weiban:corp-1:842:5']);
  });

  it('loses nothing and duplicates nothing when rows arrive while it pages', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 600 });
    t.weiban.add(...submitters(250, { newestAt: NOW_S - 1 }));
    t.weiban.beforePage = (query, served) => {
      // Newest first: 7 rows inside the window land on top, shifting every offset by 7.
      if (served === 2) t.weiban.add(...submitters(7, { firstUId: 10_000, newestAt: NOW_S - 1 }));
      expect(query.endTime).toBe(NOW_S);
    };

    await t.run();
    t.clock.advance(60_000);
    t.weiban.beforePage = undefined;
    await t.run();

    const ids = t.publisher.ids();
    expect(ids).toHaveLength(257);
    expect(new Set(ids).size).toBe(257);
  });

  it('finds rows inserted above its read position in the same run, however old', async () => {
    const t = setup({ startFrom: { mode: 'time', at: NOW_S - 86_400 } });
    t.weiban.add(...submitters(250, { newestAt: NOW_S - 1 }));
    t.weiban.beforePage = (_query, served) => {
      // Late arrivals from hours ago, listed above everything already read once paging is under way.
      if (served === 2) {
        t.weiban.add(
          submitter({ u_id: 90_001, submit_at: NOW_S - 30 }),
          submitter({ u_id: 90_002, submit_at: NOW_S - 40 }),
        );
      }
    };

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 252 });
    expect(t.publisher.ids()).toEqual(
      expect.arrayContaining(['weiban:corp-1:842:90001', 'weiban:corp-1:842:90002']),
    );
    expect(new Set(t.publisher.ids()).size).toBe(252);
    expect(t.weiban.queries.map((q) => q.offset)).toEqual([0, 100, 200, 0]);
    expect(t.log.info).toHaveBeenCalledWith(
      'rows moved while paging; reading the window again from the top',
      expect.objectContaining({
        formId: 842,
        window: { start: NOW_S - 86_400, end: NOW_S },
        offset: 200,
        page: 3,
      }),
    );
  });

  it('finds rows inserted between a continuation and its resumption', async () => {
    const t = setup({ startFrom: { mode: 'time', at: NOW_S - 86_400 } });
    t.weiban.add(...submitters(250, { newestAt: NOW_S - 1 }));
    t.weiban.beforePage = (_query, served) => {
      if (served === 1) t.setRemaining(9_000);
    };
    await t.run();
    t.weiban.add(submitter({ u_id: 90_003, submit_at: NOW_S - 50 }));
    t.weiban.beforePage = undefined;
    t.setRemaining(60_000);

    await t.run();

    expect(t.publisher.ids()).toContain('weiban:corp-1:842:90003');
    expect(new Set(t.publisher.ids()).size).toBe(251);
    expect(t.publisher.ids()).toHaveLength(251);
  });

  it('keeps the evidence of inserted rows when a resumed window fails before its catch-up', async () => {
    const t = setup({ startFrom: { mode: 'time', at: NOW_S - 3_600 }, pageSize: 2 });
    t.weiban.add(...submitters(6, { newestAt: NOW_S - 10 }));
    t.weiban.beforePage = (_query, served) => {
      if (served === 1) t.setRemaining(9_000);
    };
    await t.run();
    expect(stateOf(t.forms).continuation).toMatchObject({ offset: 2, total: 6 });
    // Two late rows land on top; the resumed run publishes further down, then fails before
    // it would look back.
    t.weiban.add(
      submitter({ u_id: 50, submit_at: NOW_S - 5 }),
      submitter({ u_id: 51, submit_at: NOW_S - 6 }),
    );
    t.setRemaining(60_000);
    t.weiban.beforePage = (_query, served) => {
      if (served === 4) throw new RateLimitedError('form/user/list', t.clock.now() + 60_000);
    };
    const failed = await t.run();
    expect(failed.forms[0]).toMatchObject({ outcome: 'failed', published: 2 });
    expect(stateOf(t.forms).continuation).toMatchObject({ offset: 6, total: 6 });
    t.weiban.beforePage = undefined;

    await t.run();

    expect(t.publisher.ids()).toEqual(
      expect.arrayContaining(['weiban:corp-1:842:50', 'weiban:corp-1:842:51']),
    );
    expect(new Set(t.publisher.ids()).size).toBe(8);
  });

  it('does not take a catch-up pass over rows it already read for Weiban ignoring offset', async () => {
    const t = setup({ pageSize: 2 });
    t.seed({
      formId: 842,
      cursor: NOW_S - 3_600,
      origin: NOW_S - 3_600,
      continuation: { start: NOW_S - 3_600, end: NOW_S, offset: 0, total: 4 },
    });
    t.weiban.add(...submitters(10, { newestAt: NOW_S - 1 }));

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 10 });
    expect(t.weiban.queries.map((q) => q.offset)).toEqual([0, 2, 4, 6, 8, 0, 2, 4]);
  });

  it('costs one Weiban call per form and one read, no write, lease or publish on a warm idle tick', async () => {
    const t = setup({ formIds: [1, 2, 3] });
    for (const formId of [1, 2, 3]) t.seed({ formId });
    await t.run();
    const before = { weiban: t.weiban.queries.length, dynamo: t.forms.requests };
    t.clock.advance(60_000);

    const summary = await t.run();

    expect(summary.forms.map((form) => form.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(t.weiban.queries.length - before.weiban).toBe(3);
    expect(t.forms.requests - before.dynamo).toBe(1);
    expect(t.publisher.calls).toBe(0);
    // The cursor moved in memory; the table keeps the older one until it lags too far.
    expect(summary.forms[1]?.cursor).toBe(NOW_S + 60);
    expect(stateOf(t.forms, 2).cursor).toBe(NOW_S - 60);
  });

  it(`writes an idle form's cursor, all forms in one request, once it lags ${WRITE_LAG_BOUND_SECONDS} s`, async () => {
    const t = setup({ formIds: [1, 2, 3] });
    for (const formId of [1, 2, 3]) t.seed({ formId });
    await t.run();
    t.clock.advance(30_000);
    await t.run();
    expect(stateOf(t.forms, 1).cursor).toBe(NOW_S - 60);
    const before = t.forms.requests;
    t.clock.advance((WRITE_LAG_BOUND_SECONDS - 30) * 1000);

    const summary = await t.run();

    // One read, one write for the three.
    expect(t.forms.requests - before).toBe(2);
    for (const formId of [1, 2, 3]) {
      expect(stateOf(t.forms, formId).cursor).toBe(NOW_S + WRITE_LAG_BOUND_SECONDS);
    }
    expect(summary.forms.map((form) => form.cursor)).toEqual(
      [1, 2, 3].map(() => NOW_S + WRITE_LAG_BOUND_SECONDS),
    );
  });

  it("keeps a fresh process's first pass within ⌈F/100⌉ + 1 requests, and writes the lagging cursors on the next", async () => {
    const formIds = Array.from({ length: 100 }, (_, i) => i + 1);
    const t = setup({ formIds });
    t.forms.list = { formIds, removed: new Map() };
    for (const formId of formIds) t.seed({ formId, cursor: NOW_S - 600 });

    const first = t.forms.requests;
    await t.run('run-1');
    const firstPass = t.forms.requests - first;
    t.clock.advance(4_000);
    const second = t.forms.requests;
    await t.run('run-1', { firstPass: false });

    // The list and 100 states: the bound, with no room for the write, which the next pass sends.
    expect(firstPass).toBe(2);
    expect(t.forms.requests - second).toBeLessThanOrEqual(2);
    for (const formId of formIds) expect(stateOf(t.forms, formId).cursor).toBe(NOW_S + 4);
  });

  it('reads on from its unwritten cursor, and from the table once another process wrote', async () => {
    const t = setup();
    t.seed({ formId: 842 });
    await t.run();
    t.clock.advance(30_000);
    t.weiban.queries.length = 0;

    // A later pass of the same invocation.
    await t.run('run-1', { firstPass: false });
    // The window starts at the cursor this process kept (less the short overlap between
    // sweeps), not at the table's older one.
    expect(t.weiban.queries[0]?.startTime).toBeGreaterThan(NOW_S - 60);
    const stored = stateOf(t.forms);
    t.forms.states.set(842, { ...stored, version: stored.version + 1, cursor: NOW_S - 3_000 });
    t.weiban.queries.length = 0;
    t.clock.advance(30_000);

    await t.run();

    // The other process's cursor, less the whole lookback (a sweep is due).
    expect(t.weiban.queries[0]?.startTime).toBeLessThanOrEqual(NOW_S - 3_000 - 600);
    expect(t.weiban.queries[0]?.startTime).toBeGreaterThan(NOW_S - 3_000 - 600 - 5);
  });

  it('on its first run, seeds the form list from FORM_IDS and learns every form state once', async () => {
    const t = setup({ formIds: [1, 2, 3] });
    for (const formId of [1, 2, 3]) t.seed({ formId });

    const summary = await t.run();

    expect(summary.forms.map((form) => form.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(t.forms.list?.formIds).toEqual([1, 2, 3]);
    // The list, the seed, every state; the cursors moved too little to be worth a write.
    expect(t.forms.requests).toBe(3);
  });

  it('stops with a clear error when Weiban ignores offset and pages never end', async () => {
    const t = setup({ pageSize: 2 });
    t.seed({ formId: 842 });
    t.weiban.add(...submitters(10, { newestAt: NOW_S - 1 }));
    t.weiban.ignoreOffset = true;

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({
      outcome: 'failed',
      error: { name: 'MalformedResponseError' },
    });
    expect(t.weiban.queries.length).toBeLessThan(6);
    expect(stateOf(t.forms).cursor).toBe(NOW_S - 60);
  });
});

describe('poll: failures keep the cursor (G1, G8)', () => {
  it('keeps the cursor after a partial publish failure, records only what SNS took, and retries the rest next run', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(4, { newestAt: NOW_S - 1 }));
    t.publisher.refuse = new Set(['weiban:corp-1:842:2']);

    const first = await t.run();

    expect(first.forms[0]).toMatchObject({
      outcome: 'failed',
      published: 3,
      failed: 1,
      cursor: NOW_S - 60,
      error: { name: 'PublishError' },
    });
    expect(stateOf(t.forms)).toMatchObject({
      cursor: NOW_S - 60,
      lastError: { name: 'PublishError' },
    });
    expect(stateOf(t.forms).lease).toBeUndefined();
    expect(t.ledger.has(842, 2)).toBe(false);
    expect(t.ledger.has(842, 1)).toBe(true);

    t.publisher.refuse.clear();
    t.clock.advance(60_000);
    const second = await t.run();

    expect(second.forms[0]).toMatchObject({ outcome: 'ok', published: 1 });
    expect(t.publisher.ids().sort()).toEqual(
      ['1', '2', '3', '4'].map((u) => `weiban:corp-1:842:${u}`),
    );
    expect(stateOf(t.forms).lastError).toBeUndefined();
  });

  it('reads a page again next run when its publish failed after earlier pages went out (G1)', async () => {
    const t = setup({ pageSize: 2 });
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    // Newest first: page 1 is u_ids 6 and 5, page 2 is 4 and 3, page 3 is 2 and 1.
    t.weiban.add(...submitters(6, { newestAt: NOW_S - 1 }));
    t.publisher.refuse = new Set(['weiban:corp-1:842:4']);

    const first = await t.run();
    const saved = stateOf(t.forms).continuation;
    t.publisher.refuse.clear();
    t.clock.advance(60_000);
    const second = await t.run();

    expect(first.forms[0]).toMatchObject({ outcome: 'failed', published: 3 });
    expect(saved?.offset).toBe(2);
    expect(second.forms[0]).toMatchObject({ outcome: 'ok' });
    expect(new Set(t.publisher.ids())).toEqual(
      new Set(['1', '2', '3', '4', '5', '6'].map((u) => `weiban:corp-1:842:${u}`)),
    );
  });

  it('republishes with the same id when the record write fails after a publish', async () => {
    const t = setup();
    t.seed({ formId: 842 });
    t.weiban.add(submitter({ u_id: 7, submit_at: NOW_S - 5 }));
    t.ledger.failRecord = true;

    const first = await t.run();
    t.clock.advance(60_000);
    await t.run();

    expect(first.forms[0]).toMatchObject({
      outcome: 'failed',
      error: { name: 'StoreWriteError' },
      cursor: NOW_S - 60,
    });
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:842:7', 'weiban:corp-1:842:7']);
  });

  it("contains one form's failure; the other forms go on", async () => {
    const t = setup({ formIds: [842, 901] });
    t.seed({ formId: 842 });
    t.seed({ formId: 901 });
    t.weiban.add(submitter({ form_id: 901, u_id: 1, submit_at: NOW_S - 5 }));
    t.weiban.beforePage = (query) => {
      if (query.formId === 842)
        throw new MalformedResponseError('form/user/list', 'result: expected array, received null');
    };

    const summary = await t.run();

    expect(summary.forms.map((form) => [form.form_id, form.outcome])).toEqual([
      [842, 'failed'],
      [901, 'ok'],
    ]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:901:1']);
    expect(t.log.error).toHaveBeenCalledWith(
      'form run failed; its cursor stays',
      expect.objectContaining({
        formId: 842,
        window: { start: NOW_S - 660, end: NOW_S },
        offset: 0,
        page: 0,
        error: expect.objectContaining({ name: 'MalformedResponseError' }),
      }),
    );
  });

  it('reports a rate-limit block with its errcode', async () => {
    const t = setup();
    t.seed({ formId: 842 });
    t.weiban.beforePage = () => {
      throw new RateLimitedError('form/user/list', t.clock.now() + 60_000);
    };

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({
      outcome: 'failed',
      error: { name: 'RateLimitedError', errcode: 10053 },
    });
  });

  it('does not publish a page whose answers could not be fetched', async () => {
    const t = setup({ answerFormIds: [842] });
    t.seed({ formId: 842 });
    t.weiban.add(...submitters(3, { newestAt: NOW_S - 1 }));
    t.weiban.answers = (_formId, uId) => {
      if (uId === 2) throw new Error('21902');
      return [];
    };

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'failed', published: 0 });
    expect(t.publisher.sent).toHaveLength(0);
  });

  it('attaches answers to events of opted-in forms', async () => {
    const t = setup({ answerFormIds: 'all' });
    t.seed({ formId: 842 });
    t.weiban.add(submitter({ u_id: 3, submit_at: NOW_S - 1 }));
    t.weiban.answers = () => [
      {
        id: 11,
        form_id: 842,
        submit_at: NOW_S - 1,
        time_spent: 40,
        component_value_list: [
          {
            component_id: 1,
            component_type: 'radio',
            title: '渠道',
            value: '朋友',
            values: ['朋友'],
          },
        ],
      },
    ];

    await t.run();

    const body = JSON.parse(t.publisher.sent[0]?.body ?? '{}') as {
      data: { submissions: unknown };
    };
    expect(body.data.submissions).toEqual([
      {
        id: 11,
        submit_at: NOW_S - 1,
        time_spent: 40,
        answers: [
          {
            component_id: 1,
            component_type: 'radio',
            title: '渠道',
            value: '朋友',
            values: ['朋友'],
          },
        ],
      },
    ]);
  });
});

describe('poll: deadline (G6)', () => {
  it('saves a continuation instead of starting a page too close to the deadline, and the next run resumes it', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 60 });
    t.weiban.add(...submitters(250, { newestAt: NOW_S - 1 }));
    t.weiban.beforePage = (_query, served) => {
      if (served === 1) t.setRemaining(9_000);
    };

    const first = await t.run();

    expect(first.forms[0]).toMatchObject({
      outcome: 'continued',
      published: 100,
      cursor: NOW_S - 60,
    });
    expect(stateOf(t.forms).continuation).toEqual({
      start: NOW_S - 660,
      end: NOW_S,
      offset: 100,
      total: 250,
    });
    expect(stateOf(t.forms).lease).toBeUndefined();

    t.setRemaining(60_000);
    t.weiban.beforePage = undefined;
    t.clock.advance(60_000);
    const second = await t.run();

    expect(second.forms[0]).toMatchObject({ outcome: 'ok', published: 150, cursor: NOW_S });
    expect(t.weiban.queries.slice(1).map((q) => [q.offset, q.endTime])).toEqual([
      [100, NOW_S],
      [200, NOW_S],
    ]);
    expect(stateOf(t.forms).continuation).toBeUndefined();
    expect(new Set(t.publisher.ids()).size).toBe(250);
  });

  it('defers a form untouched when there is no time for even one page', async () => {
    const t = setup();
    t.seed({ formId: 842 });
    t.setRemaining(5_000);

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'deferred', pages: 0 });
    expect(t.weiban.queries).toHaveLength(0);
  });
});

describe('poll: concurrent runs (G2)', () => {
  it('leaves a form alone while another run holds its lease', async () => {
    const t = setup();
    t.seed({ formId: 842, lease: { owner: 'run-other', until: NOW_S * 1000 + 30_000 } });

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'busy', pages: 0 });
    expect(t.weiban.queries).toHaveLength(0);
  });

  it('backs off when another run takes the lease between its read and its publish', async () => {
    const t = setup();
    t.seed({ formId: 842 });
    t.weiban.add(submitter({ u_id: 1, submit_at: NOW_S - 5 }));
    t.weiban.beforePage = () => {
      stateOf(t.forms).lease = { owner: 'run-other', until: NOW_S * 1000 + 30_000 };
    };

    const summary = await t.run();

    expect(summary.forms[0]?.outcome).toBe('busy');
    expect(t.publisher.sent).toHaveLength(0);
  });

  it('takes a short lease and renews it between pages, so it never lapses while the run lives', async () => {
    const t = setup({ pageSize: 2 });
    t.seed({ formId: 842, cursor: NOW_S - 3_600, origin: NOW_S - 3_600 });
    t.weiban.add(...submitters(8, { newestAt: NOW_S - 10 }));
    const leases: number[] = [];
    t.weiban.beforePage = () => {
      // Each page takes 6 s: four of them outlast one lease term.
      t.clock.advance(6_000);
      const lease = stateOf(t.forms).lease;
      if (lease !== undefined) leases.push(lease.until - t.clock.now());
    };

    const summary = await t.run();

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 8 });
    expect(leaseTermMs(0)).toBe(15_000);
    // Never lapsed at a page, never longer than one term.
    expect(leases.length).toBeGreaterThan(2);
    for (const left of leases) {
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(leaseTermMs(0));
    }
    expect(stateOf(t.forms).lease).toBeUndefined();
  });

  it('takes a lease of leaseFloorMs when given, for a clock that runs faster than real time', async () => {
    const t = setup({ pageSize: 2, leaseFloorMs: 150_000 });
    t.seed({ formId: 842, cursor: NOW_S - 3_600, origin: NOW_S - 3_600 });
    t.weiban.add(...submitters(6, { newestAt: NOW_S - 10 }));
    const leases: number[] = [];
    t.weiban.beforePage = () => {
      const lease = stateOf(t.forms).lease;
      if (lease !== undefined) leases.push(lease.until - t.clock.now());
    };

    await t.run();

    expect(leases.length).toBeGreaterThan(0);
    for (const left of leases) {
      expect(left).toBeGreaterThan(leaseTermMs(0));
      expect(left).toBeLessThanOrEqual(150_000);
    }
  });

  it('stops publishing when its lease lapsed, and a successor delivers the rest once', async () => {
    const t = setup({ pageSize: 2 });
    t.seed({ formId: 842, cursor: NOW_S - 3_600, origin: NOW_S - 3_600 });
    t.weiban.add(...submitters(6, { newestAt: NOW_S - 10 }));
    t.weiban.beforePage = (_query, served) => {
      // The run stalls past its lease after its first page, as a frozen container would.
      if (served === 2) t.clock.advance(leaseTermMs(0) + 1_000);
    };

    const stalled = await t.run('run-a');

    expect(stalled.forms[0]?.outcome).toBe('busy');
    expect(t.publisher.sent.length).toBe(2);
    t.weiban.beforePage = undefined;

    const successor = await t.run('run-b');

    expect(successor.forms[0]).toMatchObject({ outcome: 'ok' });
    expect(new Set(t.publisher.ids()).size).toBe(6);
    expect(t.publisher.ids()).toHaveLength(6);
  });

  it("takes over a crashed run's form as soon as its short lease lapses", async () => {
    const t = setup();
    t.seed({
      formId: 842,
      lease: { owner: 'run-crashed', until: NOW_S * 1000 + leaseTermMs(0) },
    });
    t.weiban.add(submitter({ u_id: 1, submit_at: NOW_S - 5 }));
    expect((await t.run('run-b')).forms[0]?.outcome).toBe('busy');

    t.clock.advance(leaseTermMs(0) + 1);
    const summary = await t.run('run-c');

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 1 });
  });

  it('starts over from the fresh state when another run moved the form meanwhile', async () => {
    const t = setup();
    t.seed({ formId: 842, cursor: NOW_S - 3_600, origin: NOW_S - 3_600 });
    t.weiban.add(
      submitter({ u_id: 1, submit_at: NOW_S - 3_000 }),
      submitter({ u_id: 2, submit_at: NOW_S - 5 }),
    );
    t.weiban.beforePage = (_query, served) => {
      if (served === 1) {
        const state = stateOf(t.forms);
        state.cursor = NOW_S - 30;
        state.version += 1;
        t.ledger.records.set('842:1', { uId: 1, submitAt: NOW_S - 3_000, event: '{}' });
      }
    };

    await t.run();

    expect(t.weiban.queries.map((q) => q.startTime)).toEqual([NOW_S - 3_601, NOW_S - 631]);
    expect(t.publisher.ids()).toEqual(['weiban:corp-1:842:2']);
  });

  it('delivers each submitter once when two runs overlap', async () => {
    const t = setup({ formIds: [1, 2, 3, 4] });
    for (const formId of [1, 2, 3, 4]) {
      t.seed({ formId });
      t.weiban.add(...submitters(30, { formId, firstUId: formId * 1000, newestAt: NOW_S - 1 }));
    }

    await Promise.all([t.run('run-a'), t.run('run-b')]);
    t.clock.advance(60_000);
    await Promise.all([t.run('run-c'), t.run('run-d')]);

    const ids = t.publisher.ids();
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
  });
});

describe('poll: every form gets its turn (G10)', () => {
  it('starts the next run with the forms the last one had no time for', async () => {
    const t = setup({ formIds: [1, 2, 3, 4, 5, 6] }, 1);
    for (const formId of [1, 2, 3, 4, 5, 6]) t.seed({ formId });
    await t.run();
    // Time for three forms' pages, then none: the other three are left out.
    let pages = 0;
    t.weiban.beforePage = () => {
      pages += 1;
      if (pages === 3) t.setRemaining(0);
    };
    t.clock.advance(60_000);
    const first = t.weiban.queries.length;

    const starved = await t.run();
    const afterStarved = t.weiban.queries.length;
    t.setRemaining(60_000);
    t.weiban.beforePage = undefined;
    t.clock.advance(60_000);
    const next = await t.run();

    const polledIn = (from: number, to?: number) =>
      t.weiban.queries.slice(from, to).map((query) => query.formId);
    const leftOut = starved.forms.filter((form) => form.outcome === 'deferred');
    expect(leftOut.map((form) => form.form_id)).toEqual(
      [1, 2, 3, 4, 5, 6].filter((formId) => !polledIn(first, afterStarved).includes(formId)),
    );
    expect(leftOut).toHaveLength(3);
    expect(leftOut.every((form) => form.cursor === NOW_S)).toBe(true);
    expect(polledIn(first, afterStarved)).toHaveLength(3);
    expect(
      polledIn(first + 3)
        .slice(0, 3)
        .sort(),
    ).toEqual(leftOut.map((form) => form.form_id));
    expect(next.forms.map((form) => form.outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('polls a form added to the list on the next run, and never one removed from it', async () => {
    const t = setup({ formIds: [1] });
    t.seed({ formId: 1 });
    t.seed({ formId: 2 });
    await t.run();
    const list = t.forms.list;
    if (list === undefined) throw new Error('no list');
    list.formIds.push(2);
    list.formIds.splice(list.formIds.indexOf(1), 1);
    list.removed.set(1, t.clock.now());
    t.clock.advance(60_000);
    // The list the run reads rides along with the states: the change shows one run later.
    await t.run();
    t.clock.advance(60_000);

    const summary = await t.run();

    expect(summary.forms.map((form) => form.form_id)).toEqual([2]);
    expect(t.forms.list?.formIds).toEqual([2]);
  });
});
