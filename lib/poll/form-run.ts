import { toUnixSeconds } from '../clock.js';
import { errorInfo, isAbort, LeaseHeldError, StateConflictError } from '../errors.js';
import {
  noCounts,
  type Continuation,
  type Counts,
  type ErrorInfo,
  type FormOutcome,
  type FormState,
  type FormSummary,
  type Window,
} from '../model.js';
import type { Guard, StateChange } from '../ports.js';
import { deliver, deliveries, requireAllPublished, triage, type Delivery } from './deliver.js';
import { WindowPager, type PageRead } from './pager.js';
import type { PollerDeps, RunContext } from './context.js';
import { initialState, planWindow, sameRecent, trimRecent } from './window.js';

/** The shortest lease term (docs/guarantees.md#g2). */
export const LEASE_FLOOR_MS = 15_000;

/**
 * How long a lease lasts: short, so that a successor takes over a crashed run's form within
 * about one pass interval (docs/guarantees.md#g2). The run renews it before each page it
 * publishes once half of it is gone, so a live run's lease never lapses between pages.
 */
export function leaseTermMs(intervalMs: number, floorMs = LEASE_FLOOR_MS): number {
  return Math.max(floorMs, intervalMs + 5_000);
}

/**
 * What a window read to its end changes: the cursor moves to the window's end, and the cache of
 * recent records keeps what is still inside the next lookback.
 */
function windowDone(
  state: FormState,
  plan: Window,
  known: ReadonlyMap<number, number>,
  lookbackSeconds: number,
): StateChange & { readonly cursor: number } {
  const cursor = Math.max(state.cursor, plan.end);
  const recent = trimRecent([...known], cursor - lookbackSeconds);
  return {
    cursor,
    continuation: null,
    error: null,
    ok: true,
    ...(!sameRecent(recent, state.recent) && { recent }),
  };
}

/** How one form's run ended. */
export interface FormResult {
  readonly summary: FormSummary;
  /** A version-guarded write that finishes the form's run, batched with the other forms'. */
  readonly idleCommit?: {
    readonly version: number;
    readonly change: StateChange;
    readonly previousCursor: number;
  };
}

/**
 * One form's run: its window read to the end, what is new on each page published and recorded,
 * and the cursor moved only when the whole window is done (G1–G3, G6, G7; docs/guarantees.md).
 * The form's lease is taken before the first publish, never for a form with nothing new.
 *
 * Still one class at about 330 lines: it is one state machine (read, lease, deliver, then
 * complete, continue or fail), and every state shares the lease, the counts and the offset.
 */
export class FormRun {
  readonly #deps: PollerDeps;
  readonly #ctx: RunContext;
  readonly #formId: number;
  readonly #existing: FormState | undefined;
  readonly #startedAt: number;
  readonly #lookbackSeconds: number;
  readonly #counts: { -readonly [K in keyof Counts]: Counts[K] } = noCounts();
  #leased = false;
  /** Until when this run's lease holds (epoch ms), as this run last set it. */
  #leaseUntil = 0;
  #plan: Continuation | undefined;
  #pager: WindowPager | undefined;
  /**
   * Where the page being read, or being delivered, starts: a failure resumes here, so a page
   * whose new rows were not all published is read again (docs/guarantees.md#g1).
   */
  #offset = 0;
  /** u_id → submit_at of what this run recorded, or found recorded in the ledger. */
  readonly #recorded = new Map<number, number>();

  constructor(
    deps: PollerDeps,
    ctx: RunContext,
    formId: number,
    existing: FormState | undefined,
    /** How far behind the cursor the window starts: the whole lookback, or a pass's overlap. */
    lookbackSeconds: number = deps.settings.lookbackSeconds,
  ) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#formId = formId;
    this.#existing = existing;
    this.#startedAt = deps.clock.now();
    this.#lookbackSeconds = lookbackSeconds;
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
        // G7: START_FROM=now begins at the present; there is no history to read yet.
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
    const { clock, settings, weiban } = this.#deps;
    let state = initial;
    for (;;) {
      const plan = planWindow(state, toUnixSeconds(clock.now()), this.#lookbackSeconds);
      this.#plan = plan;
      const pager = new WindowPager({
        formId: this.#formId,
        window: plan,
        pageSize: settings.pageSize,
        exactTimeFilter: settings.exactTimeFilter === true,
        source: weiban,
        mayStartPage: () => this.#ctx.remainingMs() >= settings.deadlineMarginMs,
        ...(this.#ctx.signal !== undefined && { signal: this.#ctx.signal }),
      });
      this.#pager = pager;
      let restarted = false;
      while (!restarted) {
        this.#offset = pager.offset;
        const read = await pager.next();
        if (read.kind === 'stopped') return this.#stopForDeadline(state, plan, read.offset);
        if (read.kind === 'done') return this.#complete(state, plan);
        const next = await this.#take(state, read);
        // Another run moved the form since it was read: start over from what it left.
        restarted = next.version !== state.version && !this.#sameRun(next, state);
        state = next;
      }
    }
  }

  /** A lease taken by this run bumps the version by one; anything more is another run's work. */
  #sameRun(next: FormState, before: FormState): boolean {
    return next.version === before.version + 1 && next.lease?.owner === this.#ctx.runId;
  }

  /** Counts a page and delivers what is new on it; returns the state to go on with. */
  async #take(state: FormState, read: PageRead): Promise<FormState> {
    const { candidates } = read.assessment;
    this.#counts.pages += 1;
    this.#counts.fetched += read.rows;
    this.#log('debug', 'page read', {
      offset: read.offset,
      rows: read.rows,
      total: read.total,
      candidates: candidates.length,
    });
    if (read.moved !== undefined) {
      // G3: the pager reads the window once more from the top before the cursor may move.
      this.#log('info', 'rows moved while paging; reading the window again from the top', {
        offset: read.offset,
        ...read.moved,
      });
    }
    if (candidates.length === 0) return state;
    const classified = await triage(this.#deps, this.#formId, candidates, this.#known(state));
    this.#counts.duplicate += classified.duplicates;
    // Recorded by an earlier run that could not save its cache (a crash between record and
    // commit): cached now, so that later passes, and the corp-wide listing, know them.
    for (const [uId, { submitAt }] of classified.ledgerKnown) {
      this.#recorded.set(uId, Math.max(submitAt, this.#recorded.get(uId) ?? 0));
    }
    const rows = deliveries(classified);
    if (rows.length === 0) return state;
    let current = state;
    if (!this.#leased) {
      current = await this.#takeLease();
      if (!this.#sameRun(current, state)) return current;
    } else {
      await this.#keepLease();
    }
    await this.#deliver(rows);
    return current;
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
    const until = now + this.#leaseTerm();
    const state = await forms.acquireLease(this.#formId, this.#ctx.runId, until, now);
    this.#leased = true;
    this.#leaseUntil = until;
    return state;
  }

  /**
   * Before a page is published: at least half a term left, or the lease is renewed. A lease
   * that lapsed is never renewed (another run may hold the form by now): LeaseHeldError stops
   * this run, and what it recorded keeps the successor from publishing it again.
   */
  async #keepLease(): Promise<void> {
    const { clock, forms } = this.#deps;
    const now = clock.now();
    const term = this.#leaseTerm();
    if (this.#leaseUntil - now >= term / 2) return;
    const until = now + term;
    await forms.renewLease(this.#formId, this.#ctx.runId, until, now);
    this.#leaseUntil = until;
  }

  #leaseTerm(): number {
    const { pace, leaseFloorMs } = this.#deps.settings;
    return leaseTermMs(pace.minMs, leaseFloorMs);
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
    const change = windowDone(state, plan, this.#known(state), this.#deps.settings.lookbackSeconds);
    const { cursor } = change;
    if (this.#leased) {
      await this.#deps.forms.commit(
        this.#formId,
        this.#leaseGuard(),
        this.#deps.schedule.paced(this.#formId, change, this.#startedAt),
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

  /** Where this window continues next run, with the total that shows rows moved (docs/guarantees.md#g3, docs/guarantees.md#g6). */
  #continuation(plan: Continuation, offset: number): Continuation {
    const baseline = this.#pager?.baseline;
    return {
      start: plan.start,
      end: plan.end,
      offset,
      ...(baseline !== undefined && { total: baseline }),
    };
  }

  #leaseGuard(): Guard {
    return { kind: 'lease', owner: this.#ctx.runId };
  }

  // G6: no new page this close to the deadline; the next run resumes at `offset`.
  async #stopForDeadline(
    state: FormState,
    plan: Continuation,
    offset: number,
  ): Promise<FormResult> {
    const { forms, clock } = this.#deps;
    if (offset === plan.offset && !this.#leased) return this.#result('deferred', state.cursor);
    const continuation = this.#continuation(plan, offset);
    const guard: Guard = this.#leased
      ? this.#leaseGuard()
      : { kind: 'version', version: state.version };
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
          this.#leaseGuard(),
          {
            error: info,
            ...(keepProgress && { continuation: this.#continuation(plan, offset) }),
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
