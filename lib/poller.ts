import type { Logger } from '@aws-lambda-powertools/logger';
import { toUnixSeconds, type Clock } from './clock.js';
import type { StartFrom } from './config.js';
import { deliver, requireAllPublished, type Delivery } from './deliver.js';
import { isAbort, LeaseHeldError, ServiceError, StateConflictError } from './errors.js';
import type {
  Continuation,
  ErrorInfo,
  FormOutcome,
  FormState,
  FormSummary,
  RunSummary,
} from './model.js';
import type {
  EventPublisher,
  FormStateStore,
  RecordedSubmitter,
  StateChange,
  SubmitterLedger,
  SubmitterSource,
} from './ports.js';
import { MalformedResponseError, WeibanApiError, RateLimitedError } from './weiban/errors.js';
import {
  assessPage,
  classify,
  initialState,
  planWindow,
  splitByRecent,
  trimRecent,
} from './window.js';

/** What the poller needs to know of the configuration. */
export interface PollSettings {
  readonly corpId: string;
  readonly formIds: readonly number[];
  readonly startFrom: StartFrom;
  readonly lookbackSeconds: number;
  readonly pageSize: number;
  readonly deadlineMarginMs: number;
  readonly emitResubmissions: boolean;
  readonly answerFormIds: readonly number[] | 'all';
}

/** Structured logging, as the Powertools Logger offers it. */
export type PollLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface PollerDeps {
  readonly settings: PollSettings;
  readonly weiban: SubmitterSource;
  readonly forms: FormStateStore;
  readonly ledger: SubmitterLedger;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly log: PollLog;
  /** Forms polled at once; Weiban's own cap is enforced by the limiter beneath. */
  readonly formConcurrency?: number;
}

export interface RunContext {
  /** Unique per invocation: the lease owner. */
  readonly runId: string;
  /** Lambda time left, in ms. */
  readonly remainingMs: () => number;
  /** Aborts in-flight Weiban requests when the deadline hits. */
  readonly signal?: AbortSignal;
}

// The lease outlives the invocation by this much, so it never lapses while the run is alive.
const LEASE_SLACK_MS = 5_000;
// Full pages in a row that bring no row unseen in this run: Weiban is ignoring `offset`.
const STALLED_PAGES = 3;

/**
 * Polls every configured form once: reads each form's frozen window page by page, publishes
 * the submitters not yet recorded, records them, and moves the cursor only when the whole
 * window is done (docs/guarantees.md#g1 to #g3, #g6, #g7). One form's failure never stops the
 * others.
 */
export async function poll(deps: PollerDeps, ctx: RunContext): Promise<RunSummary> {
  const started = deps.clock.now();
  const formIds = deps.settings.formIds;
  const states = await deps.forms.getMany(formIds);
  const results = new Map<number, FormResult>();
  await forEachLimited(formIds, deps.formConcurrency ?? 8, async (formId) => {
    results.set(formId, await new FormRun(deps, ctx, formId, states.get(formId)).run());
  });
  const summaries = await commitIdleForms(deps, formIds, results);
  return {
    started_at: new Date(started).toISOString(),
    duration_ms: deps.clock.now() - started,
    forms: summaries,
    totals: sumTotals(summaries),
  };
}

type PassEnd =
  | {
      readonly kind: 'done';
      readonly state: FormState;
      readonly total: number;
      readonly repeats: number;
    }
  | { readonly kind: 'deadline'; readonly state: FormState; readonly offset: number }
  | { readonly kind: 'restart'; readonly state: FormState };

interface FormResult {
  summary: FormSummary;
  /** A version-guarded write that finishes the form's run, batched with the other forms'. */
  idleCommit?: { version: number; change: StateChange; previousCursor: number };
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

class FormRun {
  readonly #deps: PollerDeps;
  readonly #ctx: RunContext;
  readonly #formId: number;
  readonly #existing: FormState | undefined;
  readonly #counts = { fetched: 0, new: 0, duplicate: 0, published: 0, failed: 0, pages: 0 };
  readonly #startedAt: number;
  #leased = false;
  #plan: Continuation | undefined;
  /** Where the page being read starts: a failure or deadline resumes here. */
  #offset = 0;
  /** u_id → submit_at of what this run recorded. */
  readonly #recorded = new Map<number, number>();
  /**
   * Weiban's `total` when this window's first page was read, carried by every continuation
   * until the window is done: any growth since means rows may have landed above the read
   * position, and only a catch-up from the top clears that (docs/guarantees.md#g3, across runs).
   */
  #baseline: number | undefined;

  constructor(deps: PollerDeps, ctx: RunContext, formId: number, existing: FormState | undefined) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#formId = formId;
    this.#existing = existing;
    this.#startedAt = deps.clock.now();
  }

  async run(): Promise<FormResult> {
    const { clock, forms, settings } = this.#deps;
    let state = this.#existing;
    try {
      const now = clock.now();
      if (state === undefined) {
        state = await forms.create(
          this.#formId,
          initialState(settings.startFrom, toUnixSeconds(now)),
          now,
        );
        // G7 (docs/guarantees.md#g7): START_FROM=now begins at the present; there is no history to
        // read yet.
        if (settings.startFrom.mode === 'now') return this.#result('initialized', state.cursor);
      }
      if (
        state.lease !== undefined &&
        state.lease.until > now &&
        state.lease.owner !== this.#ctx.runId
      ) {
        return this.#result('busy', state.cursor);
      }
      return await this.#readWindow(state);
    } catch (error: unknown) {
      return this.#fail(error, state);
    }
  }

  async #readWindow(initial: FormState): Promise<FormResult> {
    const { clock, settings } = this.#deps;
    let state = initial;
    for (;;) {
      const plan = planWindow(state, toUnixSeconds(clock.now()), settings.lookbackSeconds);
      this.#plan = plan;
      this.#baseline = plan.total;
      const seen = new Set<number>();
      const main = await this.#pass(state, plan, plan.offset, seen);
      state = main.state;
      if (main.kind === 'restart') continue;
      if (main.kind === 'deadline') return this.#stopForDeadline(state, plan, main.offset);
      // G3 (docs/guarantees.md#g3): a row met again on a later page means one was inserted above
      // the read position, and a continuation whose total grew means rows were inserted between
      // runs. Either way one pass from the top finds them before the cursor moves past them.
      const insertedBetweenRuns =
        plan.total !== undefined && main.total > plan.total
          ? plan.offset + main.total - plan.total
          : 0;
      if (main.repeats > 0 || insertedBetweenRuns > 0) {
        this.#log('info', 'rows moved while paging; reading the window again from the top', {
          repeats: main.repeats,
          insertedBetweenRuns,
        });
        const catchUp = await this.#pass(state, plan, 0, seen, {
          unseen: main.repeats,
          offset: insertedBetweenRuns,
        });
        state = catchUp.state;
        if (catchUp.kind === 'restart') continue;
        if (catchUp.kind === 'deadline') return this.#stopForDeadline(state, plan, catchUp.offset);
      }
      return this.#complete(state, plan);
    }
  }

  /**
   * Reads pages from `from` until the window is exhausted, or until `until` is met: that many
   * rows not in `seen` found and that offset reached. Delivers what is new on each page.
   */
  async #pass(
    initial: FormState,
    plan: Continuation,
    from: number,
    seen: Set<number>,
    until?: { unseen: number; offset: number },
  ): Promise<PassEnd> {
    const { settings, weiban, ledger } = this.#deps;
    let state = initial;
    let offset = from;
    let repeats = 0;
    let unseen = 0;
    let stalled = 0;
    // Only rows met earlier in this same pass say Weiban is ignoring `offset`: a catch-up
    // pass meets the main pass's rows again by design.
    const seenThisPass = new Set<number>();
    for (;;) {
      this.#offset = offset;
      if (this.#ctx.remainingMs() < settings.deadlineMarginMs)
        return { kind: 'deadline', state, offset };
      const page = await weiban.listSubmitters(
        {
          formId: this.#formId,
          // One second early: whether Weiban's start bound is inclusive is unknown.
          startTime: Math.max(0, plan.start - 1),
          endTime: plan.end,
          offset,
          limit: settings.pageSize,
        },
        this.#ctx.signal,
      );
      this.#counts.pages += 1;
      this.#counts.fetched += page.result.length;
      this.#baseline ??= page.total;
      const assessed = assessPage({
        formId: this.#formId,
        window: plan,
        offset,
        limit: settings.pageSize,
        total: page.total,
        rows: page.result,
        handled: seen,
      });
      const freshThisPass = page.result.filter((row) => !seenThisPass.has(row.u_id)).length;
      for (const row of page.result) {
        seen.add(row.u_id);
        seenThisPass.add(row.u_id);
      }
      repeats += assessed.repeated;
      unseen += page.result.length - assessed.repeated;
      this.#log('debug', 'page read', {
        rows: page.result.length,
        total: page.total,
        candidates: assessed.candidates.length,
      });
      stalled = page.result.length > 0 && freshThisPass === 0 ? stalled + 1 : 0;
      if (stalled >= STALLED_PAGES && !assessed.exhausted) {
        throw new MalformedResponseError(
          'form/user/list',
          `offset ${offset} returns only rows already read`,
        );
      }
      if (assessed.candidates.length > 0) {
        // The state's cache of recent records settles most lookback rows without a ledger read.
        const { confirmed, unknown } = splitByRecent(
          assessed.candidates,
          this.#known(state),
          settings.emitResubmissions,
        );
        const looked =
          unknown.length > 0
            ? await ledger.lookup(
                this.#formId,
                unknown.map((row) => row.u_id),
              )
            : new Map<number, RecordedSubmitter>();
        const recorded = new Map([...confirmed, ...looked]);
        const { fresh, resubmitted, duplicates } = classify(
          assessed.candidates,
          recorded,
          settings.emitResubmissions,
        );
        this.#counts.duplicate += duplicates;
        if (fresh.length + resubmitted.length > 0) {
          if (!this.#leased) {
            const leased = await this.#takeLease();
            // Another run moved the form since it was read: start over from what it left.
            if (leased.version !== state.version + 1) return { kind: 'restart', state: leased };
            state = leased;
          }
          await this.#deliver([
            ...fresh.map((row): Delivery => ({ row, type: 'weiban.form.submitted' })),
            ...resubmitted.map((row): Delivery => ({ row, type: 'weiban.form.resubmitted' })),
          ]);
        }
      }
      const reached =
        until !== undefined && unseen >= until.unseen && assessed.nextOffset >= until.offset;
      if (assessed.exhausted || reached) {
        return { kind: 'done', state, total: page.total, repeats };
      }
      offset = assessed.nextOffset;
    }
  }

  /** Recorded submitters this run can vouch for: the state's cache and its own records. */
  #known(state: FormState): Map<number, number> {
    const known = new Map<number, number>();
    for (const [uId, submitAt] of Object.entries(state.recent ?? {}))
      known.set(Number(uId), submitAt);
    for (const [uId, submitAt] of this.#recorded)
      known.set(uId, Math.max(submitAt, known.get(uId) ?? 0));
    return known;
  }

  async #takeLease(): Promise<FormState> {
    const { clock, forms } = this.#deps;
    const now = clock.now();
    const state = await forms.acquireLease(
      this.#formId,
      this.#ctx.runId,
      now + this.#ctx.remainingMs() + LEASE_SLACK_MS,
      now,
    );
    this.#leased = true;
    return state;
  }

  async #deliver(rows: readonly Delivery[]): Promise<void> {
    this.#counts.new += rows.length;
    const outcome = await deliver(this.#deps, this.#formId, rows, this.#ctx.signal);
    for (const { uId, submitAt } of outcome.recorded) this.#recorded.set(uId, submitAt);
    this.#counts.published += outcome.published;
    this.#counts.failed += outcome.refused.length;
    requireAllPublished(outcome);
  }

  async #complete(state: FormState, plan: Continuation): Promise<FormResult> {
    const cursor = Math.max(state.cursor, plan.end);
    const recent = trimRecent(
      [...this.#known(state)],
      cursor - this.#deps.settings.lookbackSeconds,
    );
    const change: StateChange = {
      cursor,
      continuation: null,
      error: null,
      ok: true,
      ...(!sameRecent(recent, state.recent) && { recent }),
    };
    if (this.#leased) {
      await this.#deps.forms.commit(
        this.#formId,
        { kind: 'lease', owner: this.#ctx.runId },
        change,
        this.#deps.clock.now(),
      );
      this.#leased = false;
      return this.#result('ok', cursor);
    }
    return {
      ...this.#result('ok', cursor),
      idleCommit: { version: state.version, change, previousCursor: state.cursor },
    };
  }

  // G6 (docs/guarantees.md#g6): no new page this close to the deadline; the next run resumes at
  // `offset`.
  async #stopForDeadline(
    state: FormState,
    plan: Continuation,
    offset: number,
  ): Promise<FormResult> {
    const { forms, clock } = this.#deps;
    if (offset === plan.offset && !this.#leased) return this.#result('deferred', state.cursor);
    const continuation: Continuation = {
      start: plan.start,
      end: plan.end,
      offset,
      ...(this.#baseline !== undefined && { total: this.#baseline }),
    };
    const guard = this.#leased
      ? ({ kind: 'lease', owner: this.#ctx.runId } as const)
      : ({ kind: 'version', version: state.version } as const);
    try {
      await forms.commit(this.#formId, guard, { continuation }, clock.now());
    } catch (error: unknown) {
      // Without the lease, losing the race just means another run has the form in hand.
      if (guard.kind === 'version' && error instanceof StateConflictError)
        return this.#result('deferred', state.cursor);
      throw error;
    }
    this.#leased = false;
    this.#log('info', 'deadline near: window continues next run', { continuation });
    return this.#result('continued', state.cursor);
  }

  async #fail(error: unknown, state: FormState | undefined): Promise<FormResult> {
    const { forms, clock } = this.#deps;
    const offset = this.#offset;
    if (error instanceof LeaseHeldError) return this.#result('busy', state?.cursor ?? null);
    const cursor = state?.cursor ?? null;
    const plan = this.#plan;
    // An abort is the deadline arriving mid-request: the page is simply read again next run.
    if (isAbort(error) && state !== undefined && plan !== undefined) {
      try {
        return await this.#stopForDeadline(state, plan, offset);
      } catch (saveError: unknown) {
        return this.#fail(saveError, undefined);
      }
    }
    const info = errorInfo(error, clock.now());
    this.#log('error', 'form run failed; its cursor stays', { error: info });
    try {
      if (this.#leased) {
        const keepProgress = plan !== undefined && offset > plan.offset;
        await forms.commit(
          this.#formId,
          { kind: 'lease', owner: this.#ctx.runId },
          {
            error: info,
            ...(keepProgress && {
              continuation: {
                start: plan.start,
                end: plan.end,
                offset,
                ...(this.#baseline !== undefined && { total: this.#baseline }),
              },
            }),
          },
          clock.now(),
        );
        this.#leased = false;
      } else if (state !== undefined) {
        await forms.noteError(this.#formId, info);
      }
    } catch (writeError: unknown) {
      this.#log('warn', 'could not record the failure; the lease lapses on its own', {
        error: errorInfo(writeError, clock.now()),
      });
    }
    return this.#result('failed', cursor, info);
  }

  /** Every line about a form names it, its window, and where in the window the run is. */
  #log(
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    extra: Record<string, unknown> = {},
  ): void {
    const plan = this.#plan;
    this.#deps.log[level](message, {
      formId: this.#formId,
      ...(plan !== undefined && { window: { start: plan.start, end: plan.end } }),
      offset: this.#offset,
      page: this.#counts.pages,
      ...extra,
    });
  }

  #result(outcome: FormOutcome, cursor: number | null, error?: ErrorInfo): FormResult {
    const plan = this.#plan;
    return {
      summary: {
        form_id: this.#formId,
        outcome,
        ...this.#counts,
        duration_ms: this.#deps.clock.now() - this.#startedAt,
        cursor,
        window: plan === undefined ? null : { start: plan.start, end: plan.end },
        ...(error !== undefined && {
          error: {
            name: error.name,
            message: error.message,
            ...(error.errcode !== undefined && { errcode: error.errcode }),
          },
        }),
      },
    };
  }
}

/** A secret-free description of an error, for state, logs and the summary. */
export function errorInfo(error: unknown, at: number): ErrorInfo {
  if (error instanceof WeibanApiError) {
    return { name: error.name, message: error.message, errcode: error.errcode, at };
  }
  if (error instanceof RateLimitedError) {
    return { name: error.name, message: error.message, errcode: error.errcode, at };
  }
  if (error instanceof ServiceError) return { name: error.name, message: error.message, at };
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 500), at };
  return { name: 'Error', message: 'unknown failure', at };
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function sameRecent(
  next: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>> | undefined,
): boolean {
  const previous = before ?? {};
  const keys = Object.keys(next);
  return (
    keys.length === Object.keys(previous).length && keys.every((key) => previous[key] === next[key])
  );
}

/** The run's totals: each count summed over its forms. */
export function sumTotals(forms: readonly FormSummary[]): RunSummary['totals'] {
  const totals = { fetched: 0, new: 0, duplicate: 0, published: 0, failed: 0, pages: 0 };
  for (const form of forms) {
    totals.fetched += form.fetched;
    totals.new += form.new;
    totals.duplicate += form.duplicate;
    totals.published += form.published;
    totals.failed += form.failed;
    totals.pages += form.pages;
  }
  return totals;
}
