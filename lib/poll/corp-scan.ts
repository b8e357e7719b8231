import { toUnixSeconds } from '../clock.js';
import { describeError, isAbort } from '../errors.js';
import { noCounts, type FormState, type Submitter } from '../model.js';
import type { PollerDeps, RunContext } from './context.js';
import type { FormResult } from './form-run.js';
import { WindowPager } from './pager.js';
import type { DueForm } from './schedule.js';
import { planWindow, splitByRecent } from './window.js';

/** Fewer forms than this are listed one by one: a corp-wide listing would save nothing. */
export const CORP_SCAN_MIN_FORMS = 2;

/**
 * A form whose window starts further back than this (or two lookbacks, if longer) is left to
 * its own run: one lagging form would otherwise stretch every pass's corp-wide window.
 */
const MAX_SPAN_SECONDS = 300;

/** After the listing stepped aside or failed, this process lists form by form this long. */
export const CORP_SCAN_PAUSE_MS = 60_000;

/** What one corp-wide listing found. */
export interface CorpScan {
  /** The forms it found nothing new for: done for this pass, nothing to write. */
  readonly vouched: ReadonlyMap<number, FormResult>;
  /** The forms it found something new for: their own runs, at once. */
  readonly fresh: ReadonlySet<number>;
}

/** A form a corp-wide listing may vouch for: its state, as the pass reads it, and its window. */
interface Scanned {
  readonly due: DueForm;
  readonly state: FormState;
  readonly start: number;
}

/**
 * One listing without `form_id` for the forms of a pass between sweeps, when the probe proved
 * that Weiban allows it (WEIBAN_CORP_WIDE_LISTING, docs/guarantees.md#corp-wide): such a pass
 * then costs one paged query for all of them, not one per form.
 *
 * The listing is a detector; no guarantee rests on it. It reads the union of the forms' windows,
 * `[earliest start, now]`, to its end with the same pager as a form's run (rows that move while
 * it pages are found by the second pass from the top, G3). A form none of whose rows in its own
 * window is new has nothing to do this pass: it keeps its cursor, so the next sweep, its own
 * listing of its whole lookback once a minute, reads everything since its last one, whatever
 * the corp-wide listing showed or left out (G1). Every other form (a new or unknown row, a
 * continuation, an error, a lease held elsewhere, no state yet, a window far behind) gets its
 * own run, which reads, leases and publishes exactly as without the listing (G2). The listing
 * never publishes or writes.
 *
 * When the listing cannot finish before the deadline, the forms get their own runs. When it
 * fails, or would spend more pages on rows of other forms (busy forms outside FORM_IDS) than it
 * saves, they do too, and the process lists form by form for CORP_SCAN_PAUSE_MS.
 *
 * Undefined when it did not list: the forms it could not vouch for keep to their pace.
 */
export async function scanCorp(
  deps: PollerDeps,
  ctx: RunContext,
  due: readonly DueForm[],
  states: ReadonlyMap<number, FormState | undefined>,
): Promise<CorpScan | undefined> {
  const { clock, settings, log, schedule } = deps;
  const started = clock.now();
  if (started < schedule.corpScanPausedUntil) return undefined;
  const nowS = toUnixSeconds(started);
  const pause = (): void => {
    schedule.corpScanPausedUntil = started + CORP_SCAN_PAUSE_MS;
  };
  const scanned = due.flatMap((form): Scanned[] => {
    const state = states.get(form.formId);
    if (!vouchable(state, started, ctx.runId)) return [];
    const { start } = planWindow(state, nowS, form.lookbackSeconds);
    if (start < nowS - Math.max(MAX_SPAN_SECONDS, 2 * settings.lookbackSeconds)) return [];
    return [{ due: form, state, start }];
  });
  if (scanned.length < CORP_SCAN_MIN_FORMS) return undefined;
  const window = { start: Math.min(...scanned.map((form) => form.start)), end: nowS, offset: 0 };
  const pager = new WindowPager({
    formId: new Set(scanned.map(({ due: { formId } }) => formId)),
    window,
    pageSize: settings.pageSize,
    // The proven exact filter is the one-form listing's; this one is filtered again.
    exactTimeFilter: false,
    source: deps.weiban,
    mayStartPage: () => ctx.remainingMs() >= settings.deadlineMarginMs,
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  const rows: Submitter[] = [];
  let pages = 0;
  try {
    for (;;) {
      const read = await pager.next();
      // The deadline: the forms' own runs stop for it as they always do.
      if (read.kind === 'stopped') return undefined;
      if (read.kind === 'done') break;
      pages += 1;
      if (pages === 1) {
        const others = otherRows(read.total, read.rows, read.assessment.otherForms);
        if (Math.ceil(others / settings.pageSize) > scanned.length) {
          log.info(
            'corp-wide listing set aside for a minute: rows of other forms cost more than it saves',
            {
              rows: read.total,
              otherForms: others,
              forms: scanned.length,
            },
          );
          pause();
          return undefined;
        }
      }
      rows.push(...read.assessment.candidates);
    }
  } catch (error: unknown) {
    if (isAbort(error)) return undefined;
    log.warn('corp-wide listing failed; each form is listed on its own for a minute', {
      forms: scanned.length,
      error: describeError(error),
    });
    pause();
    return undefined;
  }
  const idle = new Map<number, FormResult>();
  const fresh = new Set<number>();
  for (const form of scanned) {
    const result = idleResult(deps, form, rows, window.end, started);
    if (result === undefined) fresh.add(form.due.formId);
    else idle.set(form.due.formId, result);
  }
  schedule.noteCorpScan(started, pages, fresh.size);
  log.debug('corp-wide listing', {
    window: { start: window.start, end: window.end },
    pages,
    rows: rows.length,
    forms: scanned.length,
    idle: idle.size,
  });
  return { vouched: idle, fresh };
}

/**
 * The rows of forms outside the pass the whole listing holds, judged by its first page: the
 * pages they fill are the listing's overhead, to set against one listing per form it saves.
 */
function otherRows(total: number, rows: number, others: number): number {
  return rows === 0 ? 0 : Math.round((total * others) / rows);
}

/** A form with state, no continuation or error to clear, and no lease held by another live run. */
function vouchable(state: FormState | undefined, now: number, runId: string): state is FormState {
  if (state === undefined || state.continuation !== undefined) return false;
  if (state.lastError !== undefined) return false;
  return state.lease === undefined || state.lease.until <= now || state.lease.owner === runId;
}

/**
 * The form's result when the listing holds nothing new for it in its own window
 * `[start, end]`: every row there is one its state already remembers recording.
 */
function idleResult(
  deps: PollerDeps,
  form: Scanned,
  rows: readonly Submitter[],
  end: number,
  started: number,
): FormResult | undefined {
  const { formId } = form.due;
  const { state } = form;
  const inWindow = rows.filter(
    (row) => row.form_id === formId && row.submit_at >= form.start && row.submit_at <= end,
  );
  const known = new Map(
    Object.entries(state.recent ?? {}).map(([uId, submitAt]) => [Number(uId), submitAt]),
  );
  const { unknown } = splitByRecent(inWindow, known, deps.settings.emitResubmissions);
  if (unknown.length > 0) return undefined;
  return {
    summary: {
      form_id: formId,
      outcome: 'ok',
      ...noCounts(),
      fetched: inWindow.length,
      duplicate: inWindow.length,
      duration_ms: deps.clock.now() - started,
      cursor: state.cursor,
      window: { start: form.start, end },
    },
  };
}
