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
import { FormRun, type FormResult } from './form-run.js';

// DynamoDB: BatchGetItem takes 100 keys; the first request also carries the form list.
const STATES_PER_READ = 100;

/**
 * Polls the forms of the form list, longest since polled first: reads each form's frozen window
 * page by page, publishes the submitters not yet recorded, records them, and moves the cursor
 * only when the whole window is done (G1–G3, G6, G7; docs/guarantees.md). One form's failure
 * never stops the others. Forms the run has no time for are `deferred`, and the next run
 * starts with them (G10).
 */
export async function poll(deps: PollerDeps, ctx: RunContext): Promise<RunSummary> {
  const { clock, schedule, settings } = deps;
  const started = clock.now();
  const list = await formList(deps);
  let known: ReadonlyMap<number, FormState> | undefined;
  if (schedule.needsStates) {
    // A fresh process learns from the table which forms waited longest.
    known = (await deps.forms.read(list.formIds, false)).states;
    schedule.learn(known);
  }
  const order = schedule.order(list.formIds);
  const summaries: FormSummary[] = [];
  for (let first = 0; first < order.length; first += STATES_PER_READ) {
    const formIds = order.slice(first, first + STATES_PER_READ);
    if (ctx.remainingMs() < settings.deadlineMarginMs) {
      summaries.push(...formIds.map((formId) => unreached(formId, schedule.cursorOf(formId))));
      continue;
    }
    const states = known ?? (await readStates(deps, formIds, first === 0));
    const results = new Map<number, FormResult>();
    await pMap(
      formIds,
      async (formId) => {
        results.set(formId, await new FormRun(deps, ctx, formId, states.get(formId)).run());
      },
      { concurrency: deps.formConcurrency ?? 8 },
    );
    for (const summary of await commitIdleForms(deps, formIds, results)) {
      if (summary.outcome !== 'deferred') schedule.polled(summary.form_id, started, summary.cursor);
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

// Idle forms commit together: one request for up to 100 forms keeps an idle tick cheap.
async function commitIdleForms(
  deps: PollerDeps,
  formIds: readonly number[],
  results: ReadonlyMap<number, FormResult>,
): Promise<FormSummary[]> {
  const items = formIds.flatMap((formId) => {
    const commit = results.get(formId)?.idleCommit;
    return commit === undefined ? [] : [{ formId, version: commit.version, change: commit.change }];
  });
  let committed = new Set<number>();
  if (items.length > 0) {
    try {
      committed = await deps.forms.commitMany(items, deps.clock.now());
    } catch (error: unknown) {
      deps.log.warn('cursor update failed; the next run reads the same window again', {
        forms: items.map((item) => item.formId),
        error: errorInfo(error, deps.clock.now()),
      });
    }
  }
  return formIds.flatMap((formId) => {
    const result = results.get(formId);
    if (result === undefined) return [];
    const commit = result.idleCommit;
    if (commit === undefined || committed.has(formId)) return [result.summary];
    if (items.length > 0) {
      deps.log.debug('cursor not moved: the form changed during the run', {
        formId,
        window: result.summary.window,
      });
    }
    return [{ ...result.summary, cursor: commit.previousCursor }];
  });
}
