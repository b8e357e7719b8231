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
import type { PollerDeps, RunContext } from './context.js';
import { scanCorp, type CorpScan } from './corp-scan.js';
import { FormRun, type FormResult } from './form-run.js';
import { idleWrites, planWrites, settleIdleForms } from './idle-writes.js';
import type { DueForm } from './schedule.js';

export { WRITE_LAG_BOUND_SECONDS } from './idle-writes.js';

// DynamoDB: BatchGetItem takes 100 keys.
const STATES_PER_READ = 100;
/** Forms run between two looks at the deadline. */
const FORMS_PER_BATCH = 100;

/**
 * The form list rides free in a state read with room for one more key. A pass whose reads have
 * none (all full batches of 100, or no read at all) reads it on its own once it is a minute
 * old, if its requests allow (`planWrites`), and must once it would be older than
 * LIST_MAX_AGE_MS by the next pass: `forms add` and `forms remove` reach the poller within
 * about a minute, and within LIST_MAX_AGE_MS plus a pass in any case.
 */
const LIST_REFRESH_MS = 60_000;
const LIST_MAX_AGE_MS = 150_000;

/** What one pass has read so far: whether the form list came with it, and in how many requests. */
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
 * A pass sends at most ⌈F/100⌉ + 1 requests for the forms' state and list, where it publishes
 * nothing: its state reads, and, in what the bound leaves, its idle writes (100 forms a
 * request) and the list when it could not ride in a read (docs/guarantees.md#passes).
 */
export async function poll(
  given: PollerDeps,
  ctx: RunContext,
  { firstPass = true }: { readonly firstPass?: boolean } = {},
): Promise<RunSummary> {
  const deps = await withModes(given);
  const { clock, schedule, settings } = deps;
  const started = clock.now();
  const reads: PassReads = { listRode: false, requests: 0 };
  const list = await formList(deps, reads);
  // The states this pass read, each form's once (a form with none yet is asked for once too).
  const statesRead = new Map<number, FormState>();
  const asked = new Set<number>();
  const readStates = async (formIds: readonly number[]) => {
    const states = await readStatesOf(deps, formIds, reads);
    for (const formId of formIds) asked.add(formId);
    for (const [formId, state] of states) statesRead.set(formId, state);
    return states;
  };
  if (schedule.needsStates) {
    // A fresh process learns from the table which forms waited longest.
    schedule.learn(await readStates(list.formIds));
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
    const neverRead = scanning.filter(({ formId }) => schedule.lastRead(formId) === undefined);
    if (neverRead.length > 0) await readStates(neverRead.map(({ formId }) => formId));
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
  const results = new Map<number, FormResult>();
  // Forms the corp-wide listing found nothing for are done; the rest run in batches of 100,
  // each reading the states it has not read yet (so the reads are whole batches but the last),
  // and none once the deadline is near.
  reached.push(...due.flatMap(({ formId }) => vouched.get(formId)?.summary ?? []));
  const own = due.filter((form) => !vouched.has(form.formId) && ownRun(form));
  for (let first = 0; first < own.length; first += FORMS_PER_BATCH) {
    const batch = own.slice(first, first + FORMS_PER_BATCH);
    if (ctx.remainingMs() < settings.deadlineMarginMs) {
      summaries.push(...batch.map(({ formId }) => unreached(formId, schedule.cursorOf(formId))));
      continue;
    }
    const unread = batch.filter(({ formId }) => !asked.has(formId)).map(({ formId }) => formId);
    if (unread.length > 0) await readStates(unread);
    await pMap(
      batch,
      async ({ formId, lookbackSeconds }) => {
        const state = schedule.overlay(statesRead.get(formId));
        results.set(formId, await new FormRun(deps, ctx, formId, state, lookbackSeconds).run());
      },
      { concurrency: deps.formConcurrency ?? 8 },
    );
    ran.push(...batch);
  }
  reached.push(...(await endPass(deps, ctx, { list, reads, ran, statesRead, results, started })));
  const byId = new Map(due.map((form) => [form.formId, form]));
  for (const summary of reached) {
    if (summary.outcome !== 'deferred') {
      schedule.polled(summary.form_id, started, {
        cursor: summary.cursor,
        swept: byId.get(summary.form_id)?.sweep === true && summary.outcome === 'ok',
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

/**
 * The pass's idle writes, those it holds from earlier passes included, and the form list when
 * it could not ride, in the requests the bound ⌈F/100⌉ + 1 leaves after the state reads.
 */
async function endPass(
  deps: PollerDeps,
  ctx: RunContext,
  pass: {
    list: FormList;
    reads: PassReads;
    ran: readonly DueForm[];
    statesRead: ReadonlyMap<number, FormState>;
    results: ReadonlyMap<number, FormResult>;
    started: number;
  },
): Promise<FormSummary[]> {
  const { schedule, settings, clock } = deps;
  const { list, reads, ran, statesRead, results, started } = pass;
  const ranIds = new Set(ran.map(({ formId }) => formId));
  const pending = [
    ...idleWrites(deps, ran, statesRead, results, started),
    ...schedule.heldWrites(list.formIds).filter(({ formId }) => !ranIds.has(formId)),
  ];
  const room = Math.ceil(list.formIds.length / STATES_PER_READ) + 1 - reads.requests;
  const listAge = schedule.listAgeMs(clock.now());
  const plan = planWrites(pending, room, {
    // The passes come `pace.minMs` apart: whether the list would be too old by the next.
    must: !reads.listRode && listAge + settings.pace.minMs > LIST_MAX_AGE_MS,
    may:
      !reads.listRode &&
      listAge >= LIST_REFRESH_MS &&
      ctx.remainingMs() >= settings.deadlineMarginMs,
  });
  const summaries = await settleIdleForms(deps, ran, statesRead, results, plan);
  if (plan.listAlone) await refreshList(deps);
  return summaries;
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
async function formList(deps: PollerDeps, reads: PassReads): Promise<FormList> {
  const { forms, schedule, settings, clock } = deps;
  if (schedule.list === undefined) {
    const read = await forms.read([], true);
    reads.requests += 1;
    reads.listRode = true;
    schedule.readList(read.list ?? noForms(), clock.now());
  }
  const list = schedule.list ?? noForms();
  const unseeded = settings.formIds.filter(
    (formId) => !list.formIds.includes(formId) && !list.removed.has(formId),
  );
  if (unseeded.length === 0) return list;
  const seeded = await forms.seedList(settings.formIds, clock.now(), list);
  reads.requests += 1;
  reads.listRode = true;
  schedule.readList(seeded, clock.now());
  return seeded;
}

const noForms = (): FormList => ({ formIds: [], removed: new Map<number, number>() });

/** States of the forms; the form list rides along when the last batch has room for it. */
async function readStatesOf(
  deps: PollerDeps,
  formIds: readonly number[],
  reads: PassReads,
): Promise<ReadonlyMap<number, FormState>> {
  const withList = !reads.listRode && formIds.length % STATES_PER_READ !== 0;
  const read = await deps.forms.read(formIds, withList);
  // As the store sends them: 100 keys a request.
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
