import type { Clock } from '../lib/clock.js';
import { deliver, requireAllPublished } from '../lib/deliver.js';
import type { PollSettings } from '../lib/poller.js';
import type { EventPublisher, SubmitterLedger, SubmitterSource } from '../lib/ports.js';
import type { BackfillProgress } from '../lib/store/backfill-progress.js';
import { assessPage, classify } from '../lib/window.js';

/** Where a backfill keeps its progress between runs (lib/store/backfill-progress.ts). */
export interface ProgressStore {
  save(formId: number, progress: BackfillProgress, now: number): Promise<void>;
  clear(formId: number): Promise<void>;
}

export interface BackfillDeps {
  readonly settings: Pick<
    PollSettings,
    'corpId' | 'pageSize' | 'emitResubmissions' | 'answerFormIds'
  >;
  readonly weiban: SubmitterSource;
  readonly ledger: SubmitterLedger;
  readonly publisher: EventPublisher;
  readonly progress: ProgressStore;
  readonly clock: Clock;
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
 * Reads one form's submitters in a fixed window, page by page at the limiter's pace
 * (docs/guarantees.md#g4), and publishes those not recorded yet, then records them: the poller's
 * order, so a crash can only repeat an event under the same id, never lose one
 * (docs/guarantees.md#g1, #g2). Progress is saved after every page, so an interrupted backfill
 * resumes at the page it stopped on; the ledger makes any overlap harmless. The form's cursor is
 * never touched.
 */
export async function backfill(deps: BackfillDeps, run: BackfillRun): Promise<BackfillProgress> {
  const { formId, signal } = run;
  const { settings, weiban, ledger, clock } = deps;
  const { window } = run.from;
  let progress = run.from;

  /** Reads from `from` to the end; true when rows moved meanwhile. */
  const pass = async (from: number, second: boolean): Promise<boolean> => {
    const seen = new Set<number>();
    let moved = false;
    for (let offset = from; ;) {
      signal?.throwIfAborted();
      const page = await weiban.listSubmitters(
        {
          formId,
          // One second early, as the poller does: Weiban's bound semantics are unknown.
          startTime: Math.max(0, window.start - 1),
          endTime: window.end,
          offset,
          limit: settings.pageSize,
        },
        signal,
      );
      if (progress.total !== undefined && page.total > progress.total) moved = true;
      const assessed = assessPage({
        formId,
        window,
        offset,
        limit: settings.pageSize,
        total: page.total,
        rows: page.result,
        handled: seen,
      });
      for (const row of page.result) seen.add(row.u_id);
      if (assessed.repeated > 0) moved = true;
      let published = 0;
      let duplicates = 0;
      if (assessed.candidates.length > 0) {
        const recorded = await ledger.lookup(
          formId,
          assessed.candidates.map((row) => row.u_id),
        );
        const classified = classify(assessed.candidates, recorded, settings.emitResubmissions);
        duplicates = classified.duplicates;
        const outcome = await deliver(
          deps,
          formId,
          [
            ...classified.fresh.map((row) => ({ row, type: 'weiban.form.submitted' as const })),
            ...classified.resubmitted.map((row) => ({
              row,
              type: 'weiban.form.resubmitted' as const,
            })),
          ],
          signal,
        );
        requireAllPublished(outcome);
        published = outcome.published;
      }
      progress = {
        ...progress,
        offset: assessed.nextOffset,
        total: page.total,
        published: progress.published + published,
        // The second pass meets what the first published; those are not "already recorded".
        alreadyRecorded: progress.alreadyRecorded + (second ? 0 : duplicates),
      };
      await deps.progress.save(formId, progress, clock.now());
      run.onPage?.(progress);
      if (assessed.exhausted) return moved;
      offset = assessed.nextOffset;
    }
  };

  // G3 (docs/guarantees.md#g3): a row met twice, or a total that grew, means rows moved while
  // reading; one more pass from the top finds any that slid past the read position.
  if (await pass(progress.offset, false)) {
    run.onSecondPass?.();
    await pass(0, true);
  }
  await deps.progress.clear(formId);
  return progress;
}
