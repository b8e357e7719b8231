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

// DynamoDB: BatchGetItem takes 100 keys; the first request also carries the form list.
const STATES_PER_READ = 100;

/**
 * Polls the forms of the form list, longest since polled first: reads each form's frozen window
 * page by page, publishes the submitters not yet recorded, records them, and moves the cursor
 * only when the whole window is done (G1–G3, G6, G7; docs/guarantees.md). One form's failure
 * never stops the others. Forms the run has no time for are `deferred`, and the next run
 * starts with them (G10).
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
  // Between sweeps, one listing for the corp may vouch for the forms with nothing new; it
  // needs every due form's state first (the same ⌈F/100⌉ reads as the batches below).
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
        false,
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
            first === 0,
          ));
    const results = new Map<number, FormResult>();
    await pMap(
      own,
      async ({ formId, lookbackSeconds }) => {
        const state = schedule.overlay(states.get(formId));
        results.set(formId, await new FormRun(deps, ctx, formId, state, lookbackSeconds).run());
      },
      { concurrency: deps.formConcurrency ?? 8 },
    );
    const done = [...listed, ...(await settleIdleForms(deps, own, states, results, started))];
    for (const summary of done) {
      const form = forms.find((each) => each.formId === summary.form_id);
      if (summary.outcome !== 'deferred') {
        schedule.polled(summary.form_id, started, {
          cursor: summary.cursor,
          swept: form?.sweep === true && summary.outcome === 'ok',
          found: summary.new > 0,
        });
      }
      summaries.push(summary);
    }
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
  let list = schedule.list;
  if (list === undefined) list = (await forms.read([], true)).list;
  const unseeded = settings.formIds.filter(
    (formId) => !(list?.formIds.includes(formId) ?? false) && !(list?.removed.has(formId) ?? false),
  );
  if (unseeded.length > 0) list = await forms.seedList(settings.formIds, clock.now(), list);
  const resolved = list ?? { formIds: [], removed: new Map<number, number>() };
  schedule.list = resolved;
  return resolved;
}

/** States of the next forms; the first read also brings the form list, for the next run. */
async function readStates(
  deps: PollerDeps,
  formIds: readonly number[],
  withList: boolean,
): Promise<ReadonlyMap<number, FormState>> {
  const read = await deps.forms.read(formIds, withList);
  if (read.list !== undefined) deps.schedule.list = read.list;
  deps.schedule.saw(read.states);
  return read.states;
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

/**
 * What an idle form's pass ends with. Its cursor moved and nothing else did, so writing it every
 * pass would cost a write per form per pass: the state is written only when something else
 * changes (a continuation or an error cleared), or when the stored cursor would lag more than
 * WRITE_LAG_BOUND_SECONDS; in between, this process keeps the newer view in memory. Those that
 * are written go together: one request for up to 100 forms.
 */
async function settleIdleForms(
  deps: PollerDeps,
  forms: readonly DueForm[],
  stored: ReadonlyMap<number, FormState>,
  results: ReadonlyMap<number, FormResult>,
  passAt: number,
): Promise<FormSummary[]> {
  const { schedule } = deps;
  const idle = forms.flatMap(({ formId }) => {
    const commit = results.get(formId)?.idleCommit;
    const state = stored.get(formId);
    return commit === undefined || state === undefined ? [] : [{ formId, commit, state }];
  });
  const writes = idle.filter(({ commit, state }) => needsWrite(state, commit.change));
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
