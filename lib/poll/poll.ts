import pMap from 'p-map';
import { errorInfo } from '../errors.js';
import { addCounts, noCounts, type FormSummary, type RunSummary } from '../model.js';
import type { PollerDeps, RunContext } from './context.js';
import { FormRun, type FormResult } from './form-run.js';

/**
 * Polls every configured form once: reads each form's frozen window page by page, publishes
 * the submitters not yet recorded, records them, and moves the cursor only when the whole
 * window is done (G1–G3, G6, G7; docs/guarantees.md). One form's failure never stops the others.
 */
export async function poll(deps: PollerDeps, ctx: RunContext): Promise<RunSummary> {
  const started = deps.clock.now();
  const formIds = deps.settings.formIds;
  const states = await deps.forms.getMany(formIds);
  const results = new Map<number, FormResult>();
  await pMap(
    formIds,
    async (formId) => {
      results.set(formId, await new FormRun(deps, ctx, formId, states.get(formId)).run());
    },
    { concurrency: deps.formConcurrency ?? 8 },
  );
  const summaries = await commitIdleForms(deps, formIds, results);
  return {
    started_at: new Date(started).toISOString(),
    duration_ms: deps.clock.now() - started,
    forms: summaries,
    totals: summaries.reduce(addCounts, noCounts()),
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
