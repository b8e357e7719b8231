import type { Clock } from '../lib/clock.js';
import { deliver, deliveries, requireAllPublished, triage } from '../lib/poll/deliver.js';
import { WindowPager } from '../lib/poll/pager.js';
import type { EventPublisher, SubmitterLedger, SubmitterSource } from '../lib/ports.js';
import type { BackfillProgress } from '../lib/store/backfill-progress.js';

/** Where a backfill keeps its progress between runs (lib/store/backfill-progress.ts). */
export interface ProgressStore {
  save(formId: number, progress: BackfillProgress, now: number): Promise<void>;
  clear(formId: number): Promise<void>;
}

export interface BackfillDeps {
  readonly settings: {
    readonly corpId: string;
    readonly pageSize: number;
    readonly emitResubmissions: boolean;
    readonly answerFormIds: readonly number[] | 'all';
  };
  readonly weiban: SubmitterSource;
  readonly ledger: SubmitterLedger;
  readonly publisher: EventPublisher;
  readonly progress: ProgressStore;
  readonly clock: Clock;
  /** Called after each page: the moment to give the corp's Weiban budget to a caller that waits. */
  readonly pause?: () => Promise<void>;
}

export interface BackfillRun {
  readonly formId: number;
  /** A fresh start (offset 0) or the progress an interrupted run saved. */
  readonly from: BackfillProgress;
  /** Ctrl-C: no new page starts, the current Weiban request is abandoned. */
  readonly signal?: AbortSignal;
  /** After each page, with the progress just saved. */
  readonly onPage?: (progress: BackfillProgress) => void;
  /** Rows moved while reading; the window is read once more from the top. */
  readonly onSecondPass?: () => void;
}

/**
 * Reads one form's submitters in a fixed window with the poller's own pager (G3: a second pass
 * finds rows that moved), and publishes those not recorded yet, then records them, with the
 * poller's own delivery: a crash can only repeat an event under the same id, never lose one
 * (docs/guarantees.md#g1, docs/guarantees.md#g2). Progress is saved after every page, so an interrupted backfill resumes at the page
 * it stopped on; the ledger makes any overlap harmless. The form's cursor is never touched.
 */
export async function backfill(deps: BackfillDeps, run: BackfillRun): Promise<BackfillProgress> {
  const { formId, signal } = run;
  const { settings, clock } = deps;
  let progress = run.from;
  const pager = new WindowPager({
    formId,
    window: {
      ...progress.window,
      offset: progress.offset,
      ...(progress.total !== undefined && { total: progress.total }),
    },
    pageSize: settings.pageSize,
    source: deps.weiban,
    mayStartPage: () => {
      signal?.throwIfAborted();
      return true;
    },
    ...(signal !== undefined && { signal }),
  });
  for (;;) {
    const read = await pager.next();
    if (read.kind !== 'page') break;
    const { candidates, nextOffset } = read.assessment;
    let published = 0;
    let duplicates = 0;
    if (candidates.length > 0) {
      const classified = await triage(deps, formId, candidates);
      duplicates = classified.duplicates;
      const outcome = await deliver(deps, formId, deliveries(classified), signal);
      requireAllPublished(outcome);
      published = outcome.published;
    }
    progress = {
      ...progress,
      offset: nextOffset,
      total: read.total,
      published: progress.published + published,
      // The second pass meets what the first published; those are not "already recorded".
      alreadyRecorded: progress.alreadyRecorded + (read.catchUp ? 0 : duplicates),
    };
    await deps.progress.save(formId, progress, clock.now());
    run.onPage?.(progress);
    if (read.moved !== undefined) run.onSecondPass?.();
    await deps.pause?.();
  }
  await deps.progress.clear(formId);
  return progress;
}
