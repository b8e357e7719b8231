import type { Clock } from '../clock.js';
import { isAbort } from '../errors.js';
import { addCounts, noCounts, type FormSummary, type RunSummary } from '../model.js';
import type { PollerDeps, RunContext } from './context.js';
import { poll } from './poll.js';

export interface PassPlan {
  /** Between the starts of two passes (POLL_INTERVAL_SECONDS). */
  readonly intervalMs: number;
  /** No pass starts after this (epoch ms): the next invocation is about to be due. */
  readonly lastStartBy: number;
  /** Between two passes, e.g. to let a caller that waits for Weiban have its turn. */
  readonly afterPass?: () => Promise<void>;
}

/**
 * One invocation: passes at the pass interval until just before the next invocation is due,
 * each polling the forms whose turn has come (docs/guarantees.md#g10). The summary is the
 * invocation's: counts summed over the passes, each form's last outcome and cursor.
 */
export async function runPasses(
  deps: PollerDeps,
  ctx: RunContext,
  plan: PassPlan,
): Promise<RunSummary> {
  const { clock } = deps;
  const started = clock.now();
  const passes: RunSummary[] = [];
  for (;;) {
    const passStart = clock.now();
    passes.push(await poll(deps, ctx));
    const next = passStart + plan.intervalMs;
    if (next > plan.lastStartBy || ctx.signal?.aborted === true) break;
    await plan.afterPass?.();
    if (!(await pause(clock, next - clock.now(), ctx.signal))) break;
  }
  return merged(deps, passes, started);
}

/** Sleeps until the next pass; false when the invocation's deadline came first. */
async function pause(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (ms <= 0) return true;
  try {
    await clock.sleep(ms, signal);
    return true;
  } catch (error: unknown) {
    if (isAbort(error)) return false;
    throw error;
  }
}

function merged(deps: PollerDeps, passes: readonly RunSummary[], started: number): RunSummary {
  const byForm = new Map<number, FormSummary>();
  for (const pass of passes) {
    for (const form of pass.forms) {
      const before = byForm.get(form.form_id);
      byForm.set(form.form_id, before === undefined ? form : combine(before, form));
    }
  }
  // Forms no pass had due: the budget polls them less often; their lag still counts.
  for (const formId of deps.schedule.list?.formIds ?? []) {
    if (!byForm.has(formId)) byForm.set(formId, notDue(formId, deps.schedule.cursorOf(formId)));
  }
  const forms = [...byForm.values()].sort((a, b) => a.form_id - b.form_id);
  return {
    started_at: new Date(started).toISOString(),
    duration_ms: deps.clock.now() - started,
    passes: passes.length,
    forms,
    totals: forms.reduce(addCounts, noCounts()),
  };
}

/** A form over two passes: counts added, the later pass's outcome, cursor and error. */
function combine(earlier: FormSummary, later: FormSummary): FormSummary {
  // A form a later pass had no time for keeps what the earlier pass left.
  const last = later.outcome === 'deferred' && earlier.outcome !== 'deferred' ? earlier : later;
  const kept: { -readonly [K in keyof FormSummary]: FormSummary[K] } = { ...last };
  delete kept.error;
  return {
    ...kept,
    ...addCounts(earlier, later),
    duration_ms: earlier.duration_ms + later.duration_ms,
    ...(last.error !== undefined && { error: last.error }),
  };
}

function notDue(formId: number, cursor: number | null): FormSummary {
  return {
    form_id: formId,
    outcome: 'not_due',
    ...noCounts(),
    duration_ms: 0,
    cursor,
    window: null,
  };
}
