import { errorInfo } from '../errors.js';
import type { FormState, FormSummary } from '../model.js';
import type { CommitManyResult, StateChange } from '../ports.js';
import type { PollerDeps } from './context.js';
import type { FormResult } from './form-run.js';
import type { DueForm, IdleWrite } from './schedule.js';

// DynamoDB: TransactWriteItems takes 100 actions.
const WRITES_PER_REQUEST = 100;

/**
 * How far the stored cursor may fall behind what this process knows, for an idle form, before
 * a write is due: one write per form every two minutes instead of one every pass. A write the
 * pass has no room for waits (docs/guarantees.md#passes), so a successor after a cold start,
 * and `status`, may see a cursor a little older (the dedupe records make re-reading harmless).
 */
export const WRITE_LAG_BOUND_SECONDS = 120;

/**
 * The writes the pass's idle forms want: each form whose run published nothing and changed
 * something worth a write (needsWrite), guarded by the version its run read.
 */
export function idleWrites(
  deps: PollerDeps,
  forms: readonly DueForm[],
  stored: ReadonlyMap<number, FormState>,
  results: ReadonlyMap<number, FormResult>,
  passAt: number,
): IdleWrite[] {
  return forms.flatMap(({ formId }) => {
    const commit = results.get(formId)?.idleCommit;
    const state = stored.get(formId);
    if (commit === undefined || state === undefined) return [];
    const view = viewAfter(deps, commit, state);
    // Against the table's state: a cache the run found unchanged may be newer than the table's.
    const change =
      view.recent === undefined ? commit.change : { ...commit.change, recent: view.recent };
    if (!needsWrite(state, change)) return [];
    return [
      {
        formId,
        version: commit.version,
        change: deps.schedule.paced(formId, change, passAt),
        flagged: state.continuation !== undefined || state.lastError !== undefined,
        storedCursor: state.cursor,
        view,
      },
    ];
  });
}

/** The form as this process knows it after an idle run: its cursor and cache of submitters. */
function viewAfter(
  deps: PollerDeps,
  commit: NonNullable<FormResult['idleCommit']>,
  state: FormState,
): IdleWrite['view'] {
  const recent = commit.change.recent ?? deps.schedule.overlay(state)?.recent;
  return { cursor: commit.change.cursor ?? commit.previousCursor, ...(recent && { recent }) };
}

/** What the pass sends with the requests the bound leaves it, and what waits for a later one. */
export interface WritePlan {
  readonly writes: readonly IdleWrite[];
  readonly held: readonly IdleWrite[];
  /** Whether the form list is read on its own. */
  readonly listAlone: boolean;
}

/**
 * Shares the `room` requests a pass has left among its idle writes and the form list: the list
 * first when it must be read (`list.must`), then the writes, 100 forms a request, those that
 * clear a continuation or an error first and then the most lagging stored cursors, then the
 * list when it would merely be good to read (`list.may`).
 */
export function planWrites(
  pending: readonly IdleWrite[],
  room: number,
  list: { readonly must: boolean; readonly may: boolean },
): WritePlan {
  const sorted = [...pending].sort(byUrgency);
  let left = Math.max(0, room);
  let listAlone = list.must && left > 0;
  if (listAlone) left -= 1;
  const requests = Math.min(left, Math.ceil(sorted.length / WRITES_PER_REQUEST));
  left -= requests;
  if (!listAlone && list.may && left > 0) listAlone = true;
  const writes = sorted.slice(0, requests * WRITES_PER_REQUEST);
  return { writes, held: sorted.slice(writes.length), listAlone };
}

/** A continuation or an error to clear first, then the stored cursor that lags most. */
function byUrgency(a: IdleWrite, b: IdleWrite): number {
  return (
    Number(b.flagged) - Number(a.flagged) || a.storedCursor - b.storedCursor || a.formId - b.formId
  );
}

/**
 * What the pass's idle forms end with. Their cursors moved and nothing else did, so writing
 * them every pass would cost a write per form per pass: a state is written only when
 * something else changes (a continuation or an error cleared, a submitter cached), or when the
 * stored cursor would lag more than WRITE_LAG_BOUND_SECONDS, and then only as the pass's
 * requests allow (`plan`). In between, this process keeps the newer view in memory, and a
 * write that waits is sent by a later pass. Those written go together, 100 forms a request.
 */
export async function settleIdleForms(
  deps: PollerDeps,
  forms: readonly DueForm[],
  stored: ReadonlyMap<number, FormState>,
  results: ReadonlyMap<number, FormResult>,
  plan: WritePlan,
): Promise<FormSummary[]> {
  const { schedule } = deps;
  const { committed, conflicted } = await commitIdle(deps, plan.writes);
  const held = new Set(plan.held.map(({ formId }) => formId));
  for (const write of plan.writes) {
    if (committed.has(write.formId)) {
      schedule.remember(write.formId, { version: write.version + 1, ...write.view });
    } else if (conflicted.has(write.formId)) schedule.forget(write.formId);
    else held.add(write.formId);
  }
  // Those without room, or in a request that failed, are sent again by a later pass.
  for (const write of [...plan.held, ...plan.writes]) {
    if (held.has(write.formId)) schedule.hold(write);
  }
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
    if (conflicted.has(formId)) {
      deps.log.debug('cursor not moved: the form changed during the run', {
        formId,
        window: result.summary.window,
      });
      return [{ ...result.summary, cursor: commit.previousCursor }];
    }
    if (!committed.has(formId) && !held.has(formId)) {
      schedule.remember(formId, { version: state.version, ...viewAfter(deps, commit, state) });
    }
    return [result.summary];
  });
}

async function commitIdle(
  deps: PollerDeps,
  writes: readonly IdleWrite[],
): Promise<CommitManyResult> {
  const none = { committed: new Set<number>(), conflicted: new Set<number>() };
  if (writes.length === 0) return none;
  try {
    return await deps.forms.commitMany(
      writes.map(({ formId, version, change }) => ({ formId, version, change })),
      deps.clock.now(),
    );
  } catch (error: unknown) {
    deps.log.warn('cursor update failed; a later pass sends it again', {
      forms: writes.map((write) => write.formId),
      error: errorInfo(error, deps.clock.now()),
    });
    return none;
  }
}

/** Whether an idle form's pass changes something worth a write. */
function needsWrite(state: FormState, change: StateChange): boolean {
  if (state.continuation !== undefined || state.lastError !== undefined) return true;
  const cursor = change.cursor ?? state.cursor;
  if (cursor - state.cursor > WRITE_LAG_BOUND_SECONDS) return true;
  const before = state.recent ?? {};
  return Object.keys(change.recent ?? {}).some((uId) => !(uId in before));
}
