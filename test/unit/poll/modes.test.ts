import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { FINDINGS_RETRY_MS, PollingModesSource } from '../../../lib/poll/modes.js';
import { poll } from '../../../lib/poll/poll.js';
import { PollSchedule } from '../../../lib/poll/schedule.js';
import { FindingsFormatError } from '../../../lib/store/findings.js';
import type { ModeSettings, WeibanFindings } from '../../../lib/weiban/findings.js';
import { pollSettings } from '../../fixtures/poll-settings.js';
import { bestFindings } from '../../fixtures/findings.js';
import { submitter } from '../../fixtures/weiban.js';
import { FakeWeiban, type FakeTimeFilter } from '../../support/fake-weiban.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../support/memory-stores.js';

const NOW_S = 1_800_000_000;
const LOOKBACK_S = 600;

const auto: ModeSettings = {
  pageSize: 100,
  largerPages: 'auto',
  trustTimeFilter: 'auto',
  corpWideListing: 'auto',
};

const newLog = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

/** A findings source that counts its reads. */
function stored(findings: () => WeibanFindings | undefined) {
  const source = {
    reads: 0,
    load: () => {
      source.reads += 1;
      try {
        return Promise.resolve(findings());
      } catch (error: unknown) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
  };
  return source;
}

describe('PollingModesSource', () => {
  it('reads the findings once per process and uses what they prove', async () => {
    const clock = new VirtualClock({ startMs: NOW_S * 1000 });
    const findings = stored(() => bestFindings());
    const log = newLog();
    const modes = new PollingModesSource({ findings, settings: auto, clock, log });

    const first = await modes.current();
    clock.advance(6 * 3_600_000);
    const later = await modes.current();

    expect(first).toMatchObject({ pageSize: 1000, exactTimeFilter: true });
    expect(later).toBe(first);
    // A warm pass costs no read: idle passes keep to their DynamoDB bound.
    expect(findings.reads).toBe(1);
    expect(log.info).toHaveBeenCalledTimes(1);
    expect(log.info).toHaveBeenCalledWith('polling modes', {
      pageSize: 1000,
      exactTimeFilter: true,
      corpWideListing: true,
      reasons: first.reasons,
    });
  });

  it('reads again FINDINGS_RETRY_MS after a failed read, and then keeps what it read', async () => {
    const clock = new VirtualClock({ startMs: NOW_S * 1000 });
    const table = { fail: true };
    const findings = stored(() => {
      if (table.fail) throw new Error('ProvisionedThroughputExceededException');
      return bestFindings();
    });
    const modes = new PollingModesSource({ findings, settings: auto, clock, log: newLog() });

    const failed = await modes.current();
    table.fail = false;
    // The clock also runs in real time: a minute's margin keeps the test to its point.
    clock.advance(FINDINGS_RETRY_MS - 60_000);
    const meanwhile = await modes.current();
    clock.advance(60_000);
    const retried = await modes.current();
    clock.advance(FINDINGS_RETRY_MS);
    await modes.current();

    expect(failed).toMatchObject({ pageSize: 100, exactTimeFilter: false });
    expect(meanwhile).toBe(failed);
    expect(retried).toMatchObject({ pageSize: 1000, exactTimeFilter: true });
    expect(findings.reads).toBe(2);
  });

  it.each<[string, Error]>([
    ['unreadable findings', new FindingsFormatError('the saved probe findings are not JSON')],
    ['a failed read', new Error('ProvisionedThroughputExceededException')],
  ])('keeps the cautious modes on %s, and warns', async (_label, error) => {
    const clock = new VirtualClock({ startMs: NOW_S * 1000 });
    const log = newLog();
    const modes = new PollingModesSource({
      findings: stored(() => {
        throw error;
      }),
      settings: auto,
      clock,
      log,
    });

    const current = await modes.current();

    expect(current).toMatchObject({
      pageSize: 100,
      exactTimeFilter: false,
      corpWideListing: false,
    });
    expect(current.reasons.exactTimeFilter).toContain(
      'the stored probe findings could not be read',
    );
    expect(log.warn).toHaveBeenCalledWith(
      'probe findings unreadable; polling in the cautious modes',
      { error: expect.stringContaining(error.message) as unknown },
    );
  });

  it('keeps each mode off that its setting turns off, whatever the findings prove', async () => {
    const clock = new VirtualClock({ startMs: NOW_S * 1000 });
    const modes = new PollingModesSource({
      findings: stored(() => bestFindings()),
      settings: { ...auto, largerPages: 'off', trustTimeFilter: 'off' },
      clock,
      log: newLog(),
    });

    expect(await modes.current()).toMatchObject({ pageSize: 100, exactTimeFilter: false });
  });
});

/** The findings each stored mode comes from. */
const MODES = {
  'no findings (cautious)': { findings: undefined, pageSize: 100, exact: false },
  'larger pages': {
    findings: bestFindings({ timeFilter: { verdict: 'undetermined' } }),
    pageSize: 1000,
    exact: false,
  },
  'an exact time filter': {
    findings: bestFindings({ largestLimit: { accepted: 100, refused: 101 } }),
    pageSize: 100,
    exact: true,
  },
  'larger pages and an exact time filter': {
    findings: bestFindings(),
    pageSize: 1000,
    exact: true,
  },
} as const;

type ModeName = keyof typeof MODES;

const ALL_FILTERS: FakeTimeFilter[] = [
  'exact',
  'exclusive-start',
  'exclusive-end',
  'exclusive-both',
  'ignored',
];

// Each stored mode against every Weiban its findings allow: the cautious modes cope with any
// time filter, the exact one is only ever chosen for a filter the probe proved exact.
const CASES: [ModeName, FakeTimeFilter][] = [
  ...ALL_FILTERS.map((filter): [ModeName, FakeTimeFilter] => ['no findings (cautious)', filter]),
  ...ALL_FILTERS.map((filter): [ModeName, FakeTimeFilter] => ['larger pages', filter]),
  ['an exact time filter', 'exact'],
  ['larger pages and an exact time filter', 'exact'],
];

describe('poll in each stored polling mode', () => {
  it.each(CASES)(
    'with %s, delivers every submission once from a Weiban whose time filter is %s',
    async (mode, timeFilter) => {
      const { findings, pageSize, exact } = MODES[mode];
      const clock = new VirtualClock({ startMs: NOW_S * 1000 });
      const weiban = new FakeWeiban();
      weiban.timeFilter = timeFilter;
      const forms = new MemoryFormStateStore();
      const ledger = new MemoryLedger();
      const publisher = new MemoryPublisher();
      const log = newLog();
      const settings = pollSettings({ lookbackSeconds: LOOKBACK_S });
      forms.states.set(842, {
        formId: 842,
        version: 1,
        cursor: NOW_S,
        origin: NOW_S - 86_400,
        startMode: 'now',
      });
      const modes = new PollingModesSource({
        findings: stored(() => findings),
        settings: auto,
        clock,
        log,
      });
      const deps = {
        settings,
        weiban,
        forms,
        ledger,
        publisher,
        clock,
        log,
        schedule: new PollSchedule(),
        modes,
      };
      const nowS = () => Math.floor(clock.now() / 1000);
      let uId = 0;
      const add = (submitAt: number): void => {
        uId += 1;
        weiban.add(submitter({ u_id: uId, submit_at: submitAt }));
      };

      // Prepare and act: twelve passes 10 s apart (two full-lookback sweeps among them). Rows
      // land on the second a window ends and on the second the previous one ended, 250 at
      // once on pass 3 and one while it pages, and one late, 200 s old, on pass 1.
      let previousS = nowS();
      for (let pass = 0; pass < 12; pass += 1) {
        add(nowS());
        add(previousS);
        if (pass === 1) add(nowS() - 200);
        if (pass === 3) {
          for (let i = 0; i < 250; i += 1) add(nowS() - (i % 20));
          // One more lands while the pass reads its second page (with pages that small).
          const second = weiban.queries.length + 2;
          weiban.beforePage = (_query, served) => {
            if (served !== second) return;
            weiban.beforePage = undefined;
            add(nowS());
          };
        }
        const summary = await poll(deps, { runId: `run-${pass}`, remainingMs: () => 60_000 });
        expect(summary.forms.map((form) => form.outcome)).toEqual(['ok']);
        previousS = nowS();
        clock.advance(10_000);
      }
      // One more sweep a minute on, for what landed on the last passes.
      clock.advance(60_000);
      await poll(deps, { runId: 'run-last', remainingMs: () => 60_000 });

      // Assess: every submitter published exactly once, in pages of the mode's size.
      const published = publisher.ids();
      expect(published).toHaveLength(uId);
      expect(new Set(published)).toEqual(
        new Set(Array.from({ length: uId }, (_, i) => `weiban:corp-1:842:${i + 1}`)),
      );
      expect(weiban.queries.every((query) => query.limit === pageSize)).toBe(true);
      // The first window is [cursor − lookback, now]: start_time a second early unless exact.
      expect(weiban.queries[0]).toMatchObject({
        startTime: NOW_S - LOOKBACK_S - (exact ? 0 : 1),
        endTime: NOW_S,
      });
      // The burst takes pages of 100 beyond the first; a page of 1000 holds it.
      expect(weiban.queries.some((query) => query.offset > 0)).toBe(pageSize === 100);
    },
  );
});
