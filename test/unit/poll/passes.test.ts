import { describe, expect, it, vi } from 'vitest';
import { runPasses } from '../../../lib/poll/passes.js';
import { PollSchedule } from '../../../lib/poll/schedule.js';
import { TransportError } from '../../../lib/weiban/errors.js';
import { pollSettings } from '../../fixtures/poll-settings.js';
import { submitter } from '../../fixtures/weiban.js';
import { FakeWeiban } from '../../support/fake-weiban.js';
import { JumpingClock } from '../../support/jumping-clock.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../support/memory-stores.js';

const START_MS = 1_800_000_000_000;
const START_S = START_MS / 1000;

/** One process: its stores, its schedule, and invocations of the passes on a jumping clock. */
function setup({
  formIds = [842],
  intervalMs = 10_000,
  perMinute = 500,
  corpWide = false,
}: { formIds?: number[]; intervalMs?: number; perMinute?: number; corpWide?: boolean } = {}) {
  const clock = new JumpingClock(START_MS);
  const weiban = new FakeWeiban();
  const forms = new MemoryFormStateStore();
  const publisher = new MemoryPublisher();
  const published = new Map<string, number>();
  const settings = pollSettings({ formIds, pace: { minMs: intervalMs, perMinute }, corpWide });
  for (const formId of formIds) {
    forms.states.set(formId, {
      formId,
      version: 1,
      cursor: START_S - 60,
      origin: START_S - 86_400,
      startMode: 'now',
    });
  }
  const deps = {
    settings,
    weiban,
    forms,
    ledger: new MemoryLedger(),
    publisher,
    clock,
    log: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    schedule: new PollSchedule(),
  };
  /** Submissions that happen at given times (epoch ms), added as the clock reaches them. */
  const arrivals: { at: number; formId: number; uId: number }[] = [];
  const arrive = () => {
    for (const arrival of arrivals.splice(0).sort((a, b) => a.at - b.at)) {
      if (arrival.at > clock.now()) {
        arrivals.push(arrival);
        continue;
      }
      weiban.add(
        submitter({
          form_id: arrival.formId,
          u_id: arrival.uId,
          submit_at: Math.floor(arrival.at / 1000),
        }),
      );
    }
  };
  weiban.beforePage = () => {
    arrive();
  };
  const invoke = async (
    runId: string,
    lastStartBy = clock.now() + 57_000,
    onPass: () => void = () => undefined,
  ) => {
    const summary = await runPasses(
      deps,
      { runId, remainingMs: () => 60_000 },
      {
        intervalMs,
        lastStartBy,
        afterPass: () => {
          // What SNS took during the pass arrives now: the latency is the pass's.
          for (const id of publisher.ids()) if (!published.has(id)) published.set(id, clock.now());
          onPass();
          return Promise.resolve();
        },
      },
    );
    for (const id of publisher.ids()) if (!published.has(id)) published.set(id, clock.now());
    onPass();
    return summary;
  };
  return { clock, weiban, forms, publisher, published, arrivals, invoke, deps };
}

/** Jumps to the next minute's invocation, as the schedule starts it. */
function nextMinute(clock: JumpingClock): void {
  const now = clock.now();
  clock.advance(Math.ceil((now + 1) / 60_000) * 60_000 - now);
}

describe('passes within one invocation (G10)', () => {
  it('polls at the interval until just before the next invocation, and delivers within one interval', async () => {
    const t = setup();
    t.arrivals.push(
      { at: START_MS + 3_000, formId: 842, uId: 1 },
      { at: START_MS + 23_000, formId: 842, uId: 2 },
      { at: START_MS + 44_000, formId: 842, uId: 3 },
    );

    const summary = await t.invoke('run-1');

    // Passes start at 0, 10, …, 50 s; the next would start at 60 s, after the cut at 57 s.
    expect(summary.passes).toBe(6);
    expect(t.weiban.queries.map((q) => q.endTime - START_S)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(summary.forms[0]).toMatchObject({ form_id: 842, outcome: 'ok', published: 3 });
    expect(summary.totals.published).toBe(3);
    const latency = (uId: number, at: number) =>
      (t.published.get(`weiban:corp-1:842:${uId}`) ?? Number.NaN) - at;
    for (const [uId, at] of [
      [1, START_MS + 3_000],
      [2, START_MS + 23_000],
      [3, START_MS + 44_000],
    ] as const) {
      expect(latency(uId, at), `submitter ${uId}`).toBeLessThanOrEqual(10_000);
    }
  });

  it('takes one pass when the next invocation is due before a second could start', async () => {
    const t = setup();

    const summary = await t.invoke('run-1', START_MS);

    expect(summary.passes).toBe(1);
    expect(t.weiban.queries).toHaveLength(1);
  });

  it('reads the short overlap between sweeps, and the whole lookback once a minute', async () => {
    const t = setup();

    await t.invoke('run-1');
    nextMinute(t.clock);
    await t.invoke('run-2');

    // Each window starts a second early (Weiban's bounds are not known to be inclusive).
    const behind = t.weiban.queries.map((q) => q.endTime - q.startTime - 1);
    // Pass 1 sweeps 600 s behind the cursor (60 s old); passes 2–6 read 30 s behind it and
    // the 10 s since; the next invocation's first pass, a minute after the sweep, sweeps again.
    expect(behind.slice(0, 7)).toEqual([660, 40, 40, 40, 40, 40, 610]);
  });

  it('costs at most ⌈F/100⌉ + 1 DynamoDB requests per idle pass, and no write', async () => {
    const formIds = Array.from({ length: 250 }, (_, i) => 1_000 + i);
    const t = setup({ formIds, intervalMs: 60_000, perMinute: 500 });
    await t.invoke('run-warm', START_MS);
    t.clock.advance(60_000);
    const before = { requests: t.forms.requests, versions: [...t.forms.states.values()] };
    const versions = before.versions.map((state) => state.version);

    await t.invoke('run-idle', t.clock.now());

    expect(t.forms.requests - before.requests).toBeLessThanOrEqual(Math.ceil(250 / 100) + 1);
    expect([...t.forms.states.values()].map((state) => state.version)).toEqual(versions);
  });

  it.each([100, 200, 300])(
    'keeps every idle pass within ⌈F/100⌉ + 1 DynamoDB requests at F = %i, all read each minute, while writing lagging cursors and reading the form list',
    async (count) => {
      const formIds = Array.from({ length: count }, (_, i) => 1_000 + i);
      const t = setup({ formIds, intervalMs: 60_000, perMinute: 500 });
      const listReads: number[] = [];
      const read = t.forms.read.bind(t.forms);
      t.forms.read = (ids, withList) => {
        if (withList) listReads.push(t.clock.now());
        return read(ids, withList);
      };
      await t.invoke('run-warm', START_MS);
      // Invocations start up to 2 s late, as EventBridge's do (scripted, not drawn).
      const lateMs = [0, 700, 1_900, 300, 0, 1_500, 200, 1_100, 0, 1_800, 600, 0];
      const removedAt = 4;
      const perPass: number[] = [];
      let lastPolledRemoved = 0;
      let storedLagS = 0;
      for (let minute = 1; minute <= lateMs.length; minute += 1) {
        t.clock.advance(START_MS + minute * 60_000 + (lateMs[minute - 1] ?? 0) - t.clock.now());
        if (minute === removedAt) {
          // The operator's `forms remove 1000`, as operator.ts writes it.
          t.forms.list?.formIds.splice(0, 1);
          t.forms.list?.removed.set(1_000, t.clock.now());
        }
        const before = t.forms.requests;
        const queried = t.weiban.queries.length;
        await t.invoke(`run-${minute}`, t.clock.now());
        perPass.push(t.forms.requests - before);
        const polled = new Set(t.weiban.queries.slice(queried).map((q) => q.formId));
        expect(polled.size, `minute ${minute}`).toBeGreaterThanOrEqual(count - 1);
        if (polled.has(1_000)) lastPolledRemoved = minute;
        const nowS = Math.floor(t.clock.now() / 1000);
        for (const formId of formIds.slice(1)) {
          storedLagS = Math.max(storedLagS, nowS - (t.forms.states.get(formId)?.cursor ?? 0));
        }
      }

      // The states of each pass are whole batches of 100: no room for the list, which goes
      // alone, in the one request the bound leaves, shared with the writes.
      for (const [pass, requests] of perPass.entries()) {
        expect(requests, `pass ${pass + 1}`).toBeLessThanOrEqual(Math.ceil(count / 100) + 1);
      }
      const gaps = listReads.slice(1).map((at, i) => at - (listReads[i] ?? at));
      expect(Math.max(...gaps)).toBeLessThanOrEqual(150_000);
      expect(lastPolledRemoved).toBeLessThanOrEqual(removedAt + 2);
      // 100 writes in that request, on every second pass at the least: each stored cursor is
      // written within 2 × ⌈F/100⌉ passes, plus the pass it came due in.
      expect(storedLagS).toBeGreaterThan(120);
      expect(storedLagS).toBeLessThanOrEqual(60 * (2 * Math.ceil(count / 100) + 1));
    },
  );

  it('writes the stored cursors of forms swept all at once in the quiet passes after, on the corp-wide listing', async () => {
    const formIds = Array.from({ length: 300 }, (_, i) => 1_000 + i);
    const t = setup({ formIds, intervalMs: 10_000, perMinute: 100_000, corpWide: true });
    let storedLagS = 0;
    const perPass: number[] = [];
    for (let minute = 0; minute < 12; minute += 1) {
      t.clock.advance(START_MS + minute * 60_000 - t.clock.now());
      let before = t.forms.requests;
      await t.invoke(`run-${minute}`, t.clock.now() + 55_000, () => {
        perPass.push(t.forms.requests - before);
        before = t.forms.requests;
      });
      const nowS = Math.floor(t.clock.now() / 1000);
      for (const formId of formIds) {
        storedLagS = Math.max(storedLagS, nowS - (t.forms.states.get(formId)?.cursor ?? 0));
      }
    }

    expect(t.weiban.queries.some((query) => query.formId === undefined)).toBe(true);
    // Each invocation's first pass sweeps all 300, with one write request to spare: the other
    // 200 writes go out in the passes after, which read nothing.
    for (const requests of perPass.slice(6)) expect(requests).toBeLessThanOrEqual(4);
    expect(storedLagS).toBeLessThanOrEqual(180);
  });

  it('reads the form list and writes the lagging cursors while some form fails every other pass', async () => {
    const formIds = Array.from({ length: 100 }, (_, i) => 1_000 + i);
    const t = setup({ formIds, intervalMs: 4_000, perMinute: 100_000 });
    let pass = 0;
    t.weiban.beforePage = (query) => {
      // Forms 1000 and 1001 fail by turns: each pass has an error to note or to clear.
      if (query.formId === 1_000 + (pass % 2))
        throw new TransportError('form/user/list', 'timeout');
    };
    const perPass: number[] = [];
    let addedAt: number | undefined;
    let addedPolledAt: number | undefined;
    let storedLagS = 0;
    for (let minute = 0; minute < 7; minute += 1) {
      t.clock.advance(START_MS + minute * 60_000 - t.clock.now());
      let before = t.forms.requests;
      let queried = t.weiban.queries.length;
      await t.invoke(`run-${minute}`, t.clock.now() + 55_000, () => {
        perPass.push(t.forms.requests - before);
        if (
          addedPolledAt === undefined &&
          t.weiban.queries.slice(queried).some((q) => q.formId === 5_000)
        ) {
          addedPolledAt = t.clock.now();
        }
        pass += 1;
        if (pass === 5) {
          // The operator's `forms add 5000`.
          t.forms.list?.formIds.push(5_000);
          addedAt = t.clock.now();
        }
        before = t.forms.requests;
        queried = t.weiban.queries.length;
      });
      const nowS = Math.floor(t.clock.now() / 1000);
      for (const formId of formIds.slice(2)) {
        storedLagS = Math.max(storedLagS, nowS - (t.forms.states.get(formId)?.cursor ?? 0));
      }
    }

    expect(addedAt).toBeDefined();
    expect((addedPolledAt ?? Infinity) - (addedAt ?? 0)).toBeLessThanOrEqual(150_000 + 2 * 4_000);
    expect(storedLagS).toBeLessThanOrEqual(120 + 60);
  });

  it('keeps within 80 % of the budget, polling a busy form at the interval and quiet ones less often', async () => {
    // 12 forms every 5 s would take 144 calls a minute; 100 a minute is planned as 80.
    const formIds = Array.from({ length: 12 }, (_, i) => 1 + i);
    const t = setup({ formIds, intervalMs: 5_000, perMinute: 100 });
    t.arrivals.push({ at: START_MS + 1_000, formId: 1, uId: 1 });

    await t.invoke('run-1');
    nextMinute(t.clock);
    await t.invoke('run-2');

    const minutes = 2;
    expect(t.weiban.queries.length / minutes).toBeLessThanOrEqual(80);
    const pollsOf = (formId: number) => t.weiban.queries.filter((q) => q.formId === formId);
    // Form 1 found a submitter and is polled more often than the quiet ones.
    expect(pollsOf(1).length).toBeGreaterThan(pollsOf(2).length);
    for (const formId of formIds) expect(pollsOf(formId).length).toBeGreaterThanOrEqual(2);
  });

  it("polls every once-a-minute form on an invocation's first pass, however recent the last poll", async () => {
    const t = setup({ formIds: [1, 2, 3], intervalMs: 60_000 });
    await t.invoke('run-1', START_MS);
    // A fresh process, five seconds later: the table says every form was polled just now.
    t.clock.advance(5_000);
    for (const state of t.forms.states.values()) state.lastOkAt = t.clock.now() - 5_000;
    const fresh = { ...t.deps, schedule: new PollSchedule() };
    const before = t.weiban.queries.length;

    const summary = await runPasses(
      fresh,
      { runId: 'run-2', remainingMs: () => 60_000 },
      { intervalMs: 60_000, lastStartBy: t.clock.now() },
    );

    expect(summary.forms.map((form) => form.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(t.weiban.queries.length - before).toBe(3);
  });

  it('names the forms no pass had due as not_due, with their cursor, when the budget is short', async () => {
    // One call a minute planned for two forms: each is polled every two minutes.
    const t = setup({ formIds: [1, 2], intervalMs: 10_000, perMinute: 1 });
    const first = await t.invoke('run-1');
    nextMinute(t.clock);

    const second = await t.invoke('run-2');

    expect(first.forms.map((form) => form.outcome)).toEqual(['ok', 'ok']);
    expect(second.forms).toEqual([
      expect.objectContaining({ form_id: 1, outcome: 'not_due', cursor: START_S, pages: 0 }),
      expect.objectContaining({ form_id: 2, outcome: 'not_due', cursor: START_S, pages: 0 }),
    ]);
    expect(t.weiban.queries).toHaveLength(2);
  });

  it("sums counts over the passes and keeps each form's last outcome", async () => {
    const t = setup({ formIds: [1, 2] });
    t.arrivals.push(
      { at: START_MS + 12_000, formId: 1, uId: 7 },
      { at: START_MS + 31_000, formId: 2, uId: 8 },
    );

    const summary = await t.invoke('run-1');

    expect(summary.forms).toEqual([
      expect.objectContaining({ form_id: 1, outcome: 'ok', new: 1, published: 1 }),
      expect.objectContaining({ form_id: 2, outcome: 'ok', new: 1, published: 1 }),
    ]);
    expect(summary.totals).toMatchObject({ new: 2, published: 2, pages: 12 });
  });
});
