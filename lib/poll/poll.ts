import pMap from 'p-map';
import { errorInfo } from '../errors.js';
import {
  addCounts,
  noCounts,
  type FormList,
  type FormState,
  type FormSummary,
  type RunSummary,
} from '../model.js';
import type { StateChange } from '../ports.js';
import type { PollerDeps, RunContext } from './context.js';
import { scanCorp, type CorpScan } from './corp-scan.js';
import { FormRun, type FormResult } from './form-run.js';
import type { DueForm } from './schedule.js';

// DynamoDB: BatchGetItem takes 100 keys, TransactWriteItems 100 actions.
const STATES_PER_READ = 100;
const WRITES_PER_REQUEST = 100;

/**
 * How old the form list may grow before a pass reads it on its own. It rides free in a state
 * read with room for one more key; a pass whose reads are all full batches of 100 (or that
 * reads no state) reads it alone once it is this old, so that `forms add` and `forms remove`
 * take effect within about a minute. Twice this old, it goes before the pass's idle writes.
 */
export const LIST_REFRESH_MS = 60_000;

/** What one pass has read so far: whether the form list rode along, and in how many requests. */
interface PassReads {
  listRode: boolean;
  requests: number;
}

/**
 * Polls the forms of the form list, longest since polled first: reads each form's frozen window
 * page by page, publishes the submitters not yet recorded, records them, and moves the cursor
 * only when the whole window is done (G1–G3, G6, G7; docs/guarantees.md). One form's failure
 * never stops the others. Forms the run has no time for are `deferred`, and the next run
 * starts with them (G10).
 *
 * An idle pass sends at most ⌈F/100⌉ + 1 DynamoDB requests: its state reads, each a full batch
 * but the last, and what is left of the bound for the form list, when it could not ride in a
 * read, and for writes of up to 100 idle forms each (docs/guarantees.md#passes).
 */
export async function poll(
  given: PollerDeps,
  ctx: RunContext,
  { firstPass = true }: { readonly firstPass?: boolean } = {},
): Promise<RunSummary> {
  const deps = await withModes(given);
  const { clock, schedule, settings } = deps;
  const started = clock.now();
  const list = await formList(deps);
  const reads: PassReads = { listRode: false, requests: 0 };
  let known: ReadonlyMap<number, FormState> | undefined;
  if (schedule.needsStates) {
    // A fresh process learns from the table which forms waited longest.
    known = (await deps.forms.read(list.formIds, false)).states;
    schedule.learn(known);
  }
  const due = schedule.due(list.formIds, started, settings.pace, settings.lookbackSeconds, {
    firstPass,
    corpWide: settings.corpWide === true,
  });
  // Between sweeps, one listing for the corp may vouch for the forms with nothing new.
  let scan: CorpScan | undefined;
  const corpPass = settings.corpWide === true && schedule.corpPlanned;
  const scanning = due.filter(({ sweep }) => !sweep);
  if (corpPass && scanning.length > 0 && ctx.remainingMs() >= settings.deadlineMarginMs) {
    // The listing writes nothing, so the states this process last read serve it: a quiet
    // pass reads no state. Forms it has never read are read now.
    const unread = scanning.filter(({ formId }) => schedule.lastRead(formId) === undefined);
    if (unread.length > 0) {
      await readStates(
        deps,
        unread.map(({ formId }) => formId),
        reads,
      );
    }
    const views = new Map(scanning.map(({ formId }) => [formId, schedule.lastRead(formId)]));
    scan = await scanCorp(deps, ctx, scanning, views);
  }
  const vouched = scan?.vouched ?? new Map<number, FormResult>();
  // On a corp-wide pass every form is due: a sweep, or what the listing found new, runs now;
  // a form it did not vouch for otherwise (an error, a lease elsewhere, no listing at all)
  // keeps the pace the budget gives it one listing per form.
  const ownRun = ({ formId, sweep }: DueForm): boolean =>
    !corpPass || sweep || scan?.fresh.has(formId) === true || schedule.pacedDue(formId);
  const summaries: FormSummary[] = [];
  const reached: FormSummary[] = [];
  const ran: DueForm[] = [];
  const stored = new Map<number, FormState>();
  const results = new Map<number, FormResult>();
  for (let first = 0; first < due.length; first += STATES_PER_READ) {
    const forms = due.slice(first, first + STATES_PER_READ);
    const listed = forms.flatMap(({ formId }) => vouched.get(formId)?.summary ?? []);
    const own = forms.filter((form) => !vouched.has(form.formId) && ownRun(form));
    if (ctx.remainingMs() < settings.deadlineMarginMs) {
      summaries.push(
        ...listed,
        ...own.map(({ formId }) => unreached(formId, schedule.cursorOf(formId))),
      );
      continue;
    }
    // Forms the corp-wide listing found nothing for are done; the rest need their state.
    const states =
      known ??
      (own.length === 0
        ? new Map<number, FormState>()
        : await readStates(
            deps,
            own.map(({ formId }) => formId),
            reads,
          ));
    await pMap(
      own,
      async ({ formId, lookbackSeconds }) => {
        const state = states.get(formId);
        if (state !== undefined) stored.set(formId, state);
        results.set(
          formId,
          await new FormRun(deps, ctx, formId, schedule.overlay(state), lookbackSeconds).run(),
        );
      },
      { concurrency: deps.formConcurrency ?? 8 },
    );
    reached.push(...listed);
    ran.push(...own);
  }
  const idle = idleForms(ran, stored, results);
  const pending = idle.filter(({ commit, state }) => needsWrite(state, commit.change));
  // What the pass may still send: ⌈F/100⌉ + 1 less its state reads, at least one.
  let spare = Math.max(1, Math.ceil(list.formIds.length / STATES_PER_READ) + 1 - reads.requests);
  const listAge = schedule.listAgeMs(clock.now());
  const listAlone =
    !reads.listRode &&
    listAge >= LIST_REFRESH_MS &&
    (pending.length === 0 || spare > 1 || listAge >= 2 * LIST_REFRESH_MS) &&
    ctx.remainingMs() >= settings.deadlineMarginMs;
  if (listAlone) spare -= 1;
  // Those not written stay in memory until the form's next pass (its stored cursor lags more).
  const writes = pending.sort(byUrgency).slice(0, spare * WRITES_PER_REQUEST);
  reached.push(...(await settleIdleForms(deps, ran, stored, results, writes, started)));
  if (listAlone) await refreshList(deps);
  for (const summary of reached) {
    const form = due.find((each) => each.formId === summary.form_id);
    if (summary.outcome !== 'deferred') {
      schedule.polled(summary.form_id, started, {
        cursor: summary.cursor,
        swept: form?.sweep === true && summary.outcome === 'ok',
        found: summary.new > 0,
      });
    }
    summaries.push(summary);
  }
  return {
    started_at: new Date(started).toISOString(),
    duration_ms: clock.now() - started,
    forms: summaries.sort((a, b) => a.form_id - b.form_id),
    totals: summaries.reduce(addCounts, noCounts()),
  };
}

/** The settings for this pass, with the page size, time window and listing the findings allow. */
async function withModes(deps: PollerDeps): Promise<PollerDeps> {
  if (deps.modes === undefined) return deps;
  const { pageSize, exactTimeFilter, corpWideListing } = await deps.modes.current();
  return {
    ...deps,
    settings: { ...deps.settings, pageSize, exactTimeFilter, corpWide: corpWideListing },
  };
}

/**
 * The forms to poll. The table's list is the truth; FORM_IDS seeds it with the forms it has
 * neither listed nor had removed, so an operator's `forms remove` sticks across redeploys.
 */
async function formList(deps: PollerDeps): Promise<FormList> {
  const { forms, schedule, settings, clock } = deps;
  if (schedule.list === undefined) {
    schedule.readList((await forms.read([], true)).list ?? NO_FORMS, clock.now());
  }
  const list = schedule.list ?? NO_FORMS;
  const unseeded = settings.formIds.filter(
    (formId) => !list.formIds.includes(formId) && !list.removed.has(formId),
  );
  if (unseeded.length === 0) return list;
  const seeded = await forms.seedList(settings.formIds, clock.now(), list);
  schedule.readList(seeded, clock.now());
  return seeded;
}

const NO_FORMS: FormList = { formIds: [], removed: new Map<number, number>() };

/** States of the next forms; the form list rides along when the last batch has room for it. */
async function readStates(
  deps: PollerDeps,
  formIds: readonly number[],
  reads: PassReads,
): Promise<ReadonlyMap<number, FormState>> {
  const withList = !reads.listRode && formIds.length % STATES_PER_READ !== 0;
  const read = await deps.forms.read(formIds, withList);
  reads.requests += Math.ceil((formIds.length + (withList ? 1 : 0)) / STATES_PER_READ);
  if (withList) {
    deps.schedule.readList(read.list, deps.clock.now());
    reads.listRode = true;
  }
  deps.schedule.saw(read.states);
  return read.states;
}

/** The form list on its own, for a pass whose reads had no room for it. */
async function refreshList(deps: PollerDeps): Promise<void> {
  try {
    deps.schedule.readList((await deps.forms.read([], true)).list, deps.clock.now());
  } catch (error: unknown) {
    deps.log.warn('form list not read; the next pass tries again', {
      error: errorInfo(error, deps.clock.now()),
    });
  }
}

/** A form the run had no time for: nothing read, nothing changed. */
function unreached(formId: number, cursor: number | null): FormSummary {
  return {
    form_id: formId,
    outcome: 'deferred',
    ...noCounts(),
    duration_ms: 0,
    cursor,
    window: null,
  };
}

/** A form whose run found nothing to publish, with what its pass would change. */
interface IdleForm {
  readonly formId: number;
  readonly commit: NonNullable<FormResult['idleCommit']>;
  readonly state: FormState;
}

function idleForms(
  forms: readonly DueForm[],
  stored: ReadonlyMap<number, FormState>,
  results: ReadonlyMap<number, FormResult>,
): IdleForm[] {
  return forms.flatMap(({ formId }) => {
    const commit = results.get(formId)?.idleCommit;
    const state = stored.get(formId);
    return commit === undefined || state === undefined ? [] : [{ formId, commit, state }];
  });
}

/** A continuation or an error to clear first, then the stored cursor that lags most. */
function byUrgency(a: IdleForm, b: IdleForm): number {
  const flagged = (form: IdleForm) =>
    form.state.continuation !== undefined || form.state.lastError !== undefined ? 0 : 1;
  return flagged(a) - flagged(b) || a.state.cursor - b.state.cursor || a.formId - b.formId;
}

/**
 * What an idle form's pass ends with. Its cursor moved and nothing else did, so writing it every
 * pass would cost a write per form per pass: the state is written only when something else
 * changes (a continuation or an error cleared), or when the stored cursor would lag more than
 * WRITE_LAG_BOUND_SECONDS; in between, this process keeps the newer view in memory. Those that
 * are written (`writes`) go together: one request for up to 100 forms.
 */
async function settleIdleForms(
  deps: PollerDeps,
  forms: readonly DueForm[],
  stored: ReadonlyMap<number, FormState>,
  results: ReadonlyMap<number, FormResult>,
  writes: readonly IdleForm[],
  passAt: number,
): Promise<FormSummary[]> {
  const { schedule } = deps;
  let committed = new Set<number>();
  if (writes.length > 0) {
    try {
      committed = await deps.forms.commitMany(
        writes.map(({ formId, commit }) => ({
          formId,
          version: commit.version,
          change: schedule.paced(formId, commit.change, passAt),
        })),
        deps.clock.now(),
      );
    } catch (error: unknown) {
      deps.log.warn('cursor update failed; the next run reads the same window again', {
        forms: writes.map((item) => item.formId),
        error: errorInfo(error, deps.clock.now()),
      });
    }
  }
  const held = new Set(writes.map(({ formId }) => formId));
  return forms.flatMap(({ formId }) => {
    const result = results.get(formId);
    if (result === undefined) return [];
    const commit = result.idleCommit;
    const state = stored.get(formId);
    if (commit === undefined || state === undefined) {
      // A leased run wrote the form itself: the table is newest.
      schedule.forget(formId);
      return [result.summary];
    }
    const cursor = commit.change.cursor ?? commit.previousCursor;
    const recent = commit.change.recent ?? state.recent;
    if (committed.has(formId)) {
      schedule.remember(formId, { version: state.version + 1, cursor, ...(recent && { recent }) });
      return [result.summary];
    }
    if (!held.has(formId)) {
      schedule.remember(formId, { version: state.version, cursor, ...(recent && { recent }) });
      return [result.summary];
    }
    deps.log.debug('cursor not moved: the form changed during the run', {
      formId,
      window: result.summary.window,
    });
    schedule.forget(formId);
    return [{ ...result.summary, cursor: commit.previousCursor }];
  });
}

/**
 * How far the stored cursor may fall behind what this process knows, for an idle form: a
 * successor after a cold start re-reads at most this much more (the dedupe records make that
 * harmless), and `status` shows a cursor at most this old, for one write per form every two
 * minutes instead of one every pass.
 */
export const WRITE_LAG_BOUND_SECONDS = 120;

/** Whether an idle form's pass changes something worth a write. */
function needsWrite(state: FormState, change: StateChange): boolean {
  if (state.continuation !== undefined || state.lastError !== undefined) return true;
  const cursor = change.cursor ?? state.cursor;
  if (cursor - state.cursor > WRITE_LAG_BOUND_SECONDS) return true;
  const before = state.recent ?? {};
  return Object.keys(change.recent ?? {}).some((uId) => !(uId in before));
}
