import type { StartFrom } from '../config.js';
import type { Continuation, FormState, StartMode, Submitter, Window } from '../model.js';
import type { RecordedSubmitter } from '../ports.js';

/**
 * Where a form with no state begins (docs/guarantees.md#g7): the present, or the configured time.
 */
export function initialState(
  startFrom: StartFrom,
  nowS: number,
): { cursor: number; origin: number; startMode: StartMode } {
  const at = startFrom.mode === 'now' ? nowS : Math.min(startFrom.at, nowS);
  return { cursor: at, origin: at, startMode: startFrom.mode };
}

/**
 * The window this run reads, frozen at its start (docs/guarantees.md#g3): the saved continuation if
 * a run left one, else `[cursor − lookback, now]`, never reaching before the form's origin.
 */
export function planWindow(state: FormState, nowS: number, lookbackSeconds: number): Continuation {
  if (state.continuation !== undefined) return state.continuation;
  const start = Math.max(state.origin, state.cursor - lookbackSeconds);
  return { start, end: Math.max(nowS, start), offset: 0 };
}

/**
 * A row's identity within one listing. `u_id` is the form–customer relation; whether it is
 * unique across forms is not documented, so a listing of several forms keys by both.
 */
export const rowKey = (row: Pick<Submitter, 'form_id' | 'u_id'>): string =>
  `${row.form_id}:${row.u_id}`;

export interface PageAssessment {
  /** Rows of the form(s) listed, in the window, with status `submit`, not already handled this run. */
  readonly candidates: readonly Submitter[];
  /** Rows seen before in this run (rows shift between pages while new ones arrive). */
  readonly repeated: number;
  /** Rows outside the window or of another status or form; a later window takes them. */
  readonly skipped: number;
  /** Of those, rows of forms not listed for (a listing without `form_id` holds every form's). */
  readonly otherForms: number;
  /** No page follows this one. */
  readonly exhausted: boolean;
  /** Where the next page starts. */
  readonly nextOffset: number;
}

/**
 * Sorts one page's rows and decides whether another page follows.
 *
 * Why these stopping rules: Weiban's largest `limit` is unknown
 * (docs/weiban-api.md#form-user-list), so a short page alone does not prove the end while `total`
 * says more rows exist; and `total` can be stale or wrong, so when it contradicts the rows in hand,
 * only a short page ends the window.
 */
export function assessPage(input: {
  /** The form listed, or the forms a listing of the whole corp is read for. */
  readonly formId: number | ReadonlySet<number>;
  readonly window: Window;
  readonly offset: number;
  readonly limit: number;
  readonly total: number;
  readonly rows: readonly Submitter[];
  /** rowKey of every row already handled this run. */
  readonly handled: ReadonlySet<string>;
  /** Whether rows outside the window are skipped; false once Weiban's window proved exact. */
  readonly filterByTime?: boolean;
}): PageAssessment {
  const { formId, window, offset, limit, total, rows, handled } = input;
  const filterByTime = input.filterByTime ?? true;
  const candidates: Submitter[] = [];
  const inPage = new Set<string>();
  const listed =
    typeof formId === 'number' ? (id: number) => id === formId : (id: number) => formId.has(id);
  let repeated = 0;
  let skipped = 0;
  let otherForms = 0;
  for (const row of rows) {
    const key = rowKey(row);
    if (handled.has(key) || inPage.has(key)) {
      repeated += 1;
      continue;
    }
    if (!listed(row.form_id)) {
      skipped += 1;
      otherForms += 1;
      continue;
    }
    if (
      row.status !== 'submit' ||
      (filterByTime && (row.submit_at < window.start || row.submit_at > window.end))
    ) {
      skipped += 1;
      continue;
    }
    inPage.add(key);
    candidates.push(row);
  }
  const read = offset + rows.length;
  const exhausted = rows.length === 0 || (total >= read ? read === total : rows.length < limit);
  return { candidates, repeated, skipped, otherForms, exhausted, nextOffset: read };
}

export interface Classified {
  /** Never recorded: published as `weiban.form.submitted`. */
  readonly fresh: readonly Submitter[];
  /** Recorded with an older `submit_at`, when resubmissions are emitted. */
  readonly resubmitted: readonly Submitter[];
  readonly duplicates: number;
}

/** Splits candidates by what the ledger already holds (docs/guarantees.md#g2). */
export function classify(
  candidates: readonly Submitter[],
  recorded: ReadonlyMap<number, RecordedSubmitter>,
  emitResubmissions: boolean,
): Classified {
  const fresh: Submitter[] = [];
  const resubmitted: Submitter[] = [];
  let duplicates = 0;
  for (const row of candidates) {
    const known = recorded.get(row.u_id);
    if (known === undefined) fresh.push(row);
    else if (emitResubmissions && row.submit_at > known.submitAt) resubmitted.push(row);
    else duplicates += 1;
  }
  return { fresh, resubmitted, duplicates };
}

/** Most submitters the form state remembers as recently recorded (it stays a few KB). */
export const RECENT_MAX = 500;

/**
 * The recently-recorded cache after a window: what it held plus what this run recorded, keeping
 * only submit_at inside the next window's lookback, and the newest RECENT_MAX of those.
 */
export function trimRecent(
  entries: Iterable<readonly [number, number]>,
  from: number,
  max: number = RECENT_MAX,
): Record<string, number> {
  const kept = new Map<number, number>();
  for (const [uId, submitAt] of entries) {
    if (submitAt >= from) kept.set(uId, Math.max(submitAt, kept.get(uId) ?? 0));
  }
  const newest = [...kept].sort((a, b) => b[1] - a[1] || b[0] - a[0]).slice(0, max);
  return Object.fromEntries(newest.map(([uId, submitAt]) => [String(uId), submitAt]));
}

/** Candidates the cache proves recorded, as the ledger would report them; the rest need a lookup. */
export function splitByRecent(
  candidates: readonly Submitter[],
  known: ReadonlyMap<number, number>,
  emitResubmissions: boolean,
): { confirmed: Map<number, RecordedSubmitter>; unknown: Submitter[] } {
  const confirmed = new Map<number, RecordedSubmitter>();
  const unknown: Submitter[] = [];
  for (const row of candidates) {
    const submitAt = known.get(row.u_id);
    // A later submit_at might be a resubmission another run already recorded: ask the ledger.
    if (submitAt !== undefined && (!emitResubmissions || row.submit_at <= submitAt)) {
      confirmed.set(row.u_id, { submitAt });
    } else unknown.push(row);
  }
  return { confirmed, unknown };
}

/** Whether two caches of recent records hold the same entries (so the state need not be rewritten). */
export function sameRecent(
  next: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>> | undefined,
): boolean {
  const previous = before ?? {};
  const keys = Object.keys(next);
  return (
    keys.length === Object.keys(previous).length && keys.every((key) => previous[key] === next[key])
  );
}
