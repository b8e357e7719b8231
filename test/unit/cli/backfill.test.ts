import { describe, expect, it } from 'vitest';
import { backfill, type BackfillDeps, type ProgressStore } from '../../../cli/backfill.js';
import { systemClock } from '../../../lib/clock.js';
import { PublishError } from '../../../lib/errors.js';
import type { BackfillProgress } from '../../../lib/store/backfill-progress.js';
import { submitter, submitters } from '../../fixtures/weiban.js';
import { FakeWeiban } from '../../support/fake-weiban.js';
import { MemoryLedger, MemoryPublisher } from '../../support/memory-stores.js';

const NEWEST = 1_700_000_000;
const WINDOW = { start: NEWEST - 999, end: NEWEST };

class MemoryProgress implements ProgressStore {
  readonly saved: BackfillProgress[] = [];
  cleared = false;
  save(_formId: number, progress: BackfillProgress): Promise<void> {
    this.saved.push(progress);
    return Promise.resolve();
  }
  clear(): Promise<void> {
    this.cleared = true;
    return Promise.resolve();
  }
}

function setUp(rows = submitters(25, { newestAt: NEWEST })) {
  const weiban = new FakeWeiban().add(...rows);
  const ledger = new MemoryLedger();
  const publisher = new MemoryPublisher();
  const progress = new MemoryProgress();
  const deps: BackfillDeps = {
    settings: { corpId: 'corp-1', pageSize: 10, emitResubmissions: false, answerFormIds: [] },
    weiban,
    ledger,
    publisher,
    progress,
    clock: systemClock,
  };
  const from = (offset = 0): BackfillProgress => ({
    window: WINDOW,
    offset,
    published: 0,
    alreadyRecorded: 0,
    startedAt: 0,
  });
  return { deps, weiban, ledger, publisher, progress, rows, from };
}

describe('backfill', () => {
  it('publishes the submitters not yet recorded, records them, and clears its progress', async () => {
    const { deps, ledger, publisher, progress, rows, from } = setUp();
    const recorded = rows.slice(0, 5);
    await ledger.record(
      842,
      recorded.map((row) => ({ uId: row.u_id, submitAt: row.submit_at, event: '{}' })),
    );

    const done = await backfill(deps, { formId: 842, from: from() });

    expect(done).toMatchObject({ offset: 25, total: 25, published: 20, alreadyRecorded: 5 });
    expect(publisher.ids().sort()).toEqual(
      rows
        .slice(5)
        .map((row) => `weiban:corp-1:842:${row.u_id}`)
        .sort(),
    );
    for (const row of rows) expect(ledger.has(842, row.u_id)).toBe(true);
    expect(progress.saved.map((saved) => saved.offset)).toEqual([10, 20, 25]);
    expect(progress.cleared).toBe(true);
  });

  it('publishes a resubmission under its own id when EMIT_RESUBMISSIONS is on', async () => {
    const row = submitter({ u_id: 7, submit_at: NEWEST - 10 });
    const { deps, ledger, publisher, from } = setUp([row]);
    await ledger.record(842, [{ uId: 7, submitAt: NEWEST - 500, event: '{}' }]);

    await backfill(
      { ...deps, settings: { ...deps.settings, emitResubmissions: true } },
      { formId: 842, from: from() },
    );

    expect(publisher.ids()).toEqual([`weiban:corp-1:842:7:${NEWEST - 10}`]);
    expect((await ledger.lookup(842, [7])).get(7)).toEqual({ submitAt: NEWEST - 10 });
  });

  it('asks Weiban for the window only, one second early, and skips rows outside it', async () => {
    const outside = submitter({ u_id: 900, submit_at: WINDOW.start - 1 });
    const { deps, weiban, publisher, from } = setUp([
      ...submitters(3, { newestAt: NEWEST }),
      outside,
    ]);

    await backfill(deps, { formId: 842, from: from() });

    expect(weiban.queries[0]).toMatchObject({ startTime: WINDOW.start - 1, endTime: WINDOW.end });
    expect(publisher.ids()).toHaveLength(3);
    expect(publisher.ids()).not.toContain('weiban:corp-1:842:900');
  });

  it('resumes at a saved offset without reading the pages before it', async () => {
    const { deps, weiban, publisher, from } = setUp();

    const done = await backfill(deps, { formId: 842, from: { ...from(20), published: 20 } });

    expect(weiban.queries.map((query) => query.offset)).toEqual([20]);
    expect(publisher.ids()).toHaveLength(5);
    expect(done.published).toBe(25);
  });

  it('reads the window once more when rows moved while it paged', async () => {
    const { deps, weiban, publisher, from } = setUp();
    const late = submitter({ u_id: 500, submit_at: NEWEST - 3 });
    let secondPass = 0;
    // Before the second page, a late row sorts in above the read position.
    weiban.beforePage = (_query, served) => {
      if (served === 2) weiban.add(late);
    };

    await backfill(deps, {
      formId: 842,
      from: from(),
      onSecondPass: () => {
        secondPass += 1;
      },
    });

    expect(secondPass).toBe(1);
    expect(publisher.ids()).toContain('weiban:corp-1:842:500');
    expect(new Set(publisher.ids()).size).toBe(26);
    expect(publisher.ids()).toHaveLength(26);
  });

  it('stops on a refused publish and keeps the progress of the last whole page', async () => {
    const { deps, ledger, publisher, progress, rows, from } = setUp();
    const refused = rows[12];
    publisher.refuse.add(`weiban:corp-1:842:${refused?.u_id ?? 0}`);

    await expect(backfill(deps, { formId: 842, from: from() })).rejects.toBeInstanceOf(
      PublishError,
    );

    expect(progress.saved.map((saved) => saved.offset)).toEqual([10]);
    expect(progress.cleared).toBe(false);
    expect(ledger.has(842, refused?.u_id ?? 0)).toBe(false);
    expect(ledger.has(842, rows[13]?.u_id ?? 0)).toBe(true);
  });

  it('starts no new page once interrupted', async () => {
    const { deps, weiban, progress, from } = setUp();
    const interrupt = new AbortController();

    const run = backfill(deps, {
      formId: 842,
      from: from(),
      signal: interrupt.signal,
      onPage: () => {
        interrupt.abort();
      },
    });

    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(weiban.queries).toHaveLength(1);
    expect(progress.saved.map((saved) => saved.offset)).toEqual([10]);
  });
});
