import type { FormList, FormState } from '../model.js';
import type { StateChange } from '../ports.js';
import { cadence, corpWideFits, HOT_FOR_MS, isDue, lookbackFor, type Cadence } from './cadence.js';

const MINUTE_MS = 60_000;

/** What this process knows of a form between passes. */
interface FormMemory {
  /** When a pass last got to it (epoch ms). */
  polledAt?: number;
  /** When a pass of this process last got to it: the start of the next measured gap. */
  polledHereAt?: number;
  /** The time between its polls in this process, smoothed (ms). */
  everyMs?: number;
  /** When a pass last read its whole lookback. */
  sweptAt?: number;
  /** When a pass last found new submitters. */
  activeAt?: number;
  /** The last cursor seen, for the lag of forms a pass did not reach. */
  cursor?: number;
  /**
   * The form as this process left it after an idle pass it did not write: valid while the
   * table still holds `version` (nobody else wrote since), docs/guarantees.md#storage.
   */
  view?: {
    version: number;
    cursor: number;
    recent?: Readonly<Record<string, number>>;
    /** A held write will clear the continuation and the error the table still holds. */
    clears?: boolean;
  };
  /** The state as last read from the table. */
  read?: FormState;
  /** An idle write a pass had no room for, to send from a later pass. */
  unwritten?: IdleWrite;
}

/** One idle form's state write: the change its pass made, guarded by the version it read. */
export interface IdleWrite {
  readonly formId: number;
  readonly version: number;
  readonly change: StateChange;
  /** It clears a continuation or an error. */
  readonly flagged: boolean;
  /** The cursor the table holds. */
  readonly storedCursor: number;
  /** The form as this process knows it once the write is done. */
  readonly view: { cursor: number; recent?: Readonly<Record<string, number>> };
}

/** One form a pass polls, and how far behind its cursor it reads. */
export interface DueForm {
  readonly formId: number;
  readonly lookbackSeconds: number;
  readonly sweep: boolean;
}

/**
 * Which forms a pass polls, in what order, and how far back: the forms whose turn has come at
 * the pace Weiban's budget allows (lib/poll/cadence.ts), the one polled longest ago first, so
 * that when the budget cannot cover every form, the next pass starts with the ones left out
 * (docs/guarantees.md#g10). Kept for the life of the process; a fresh process orders by what
 * the table says (the last successful poll), never-polled forms first.
 */
export class PollSchedule {
  readonly #forms = new Map<number, FormMemory>();
  #list: FormList | undefined;
  #listReadAt: number | undefined;
  #learned = false;
  #corpPlanned = false;
  #pacedDue = new Set<number>();
  /** The last minute's corp-wide listings: when, how many pages, how many own runs they led to. */
  #corpScans: { at: number; pages: number; own: number }[] = [];
  /** Until when (epoch ms) passes list form by form: the corp-wide listing failed or cost more. */
  corpScanPausedUntil = 0;

  /** The form list as last read, if any. */
  get list(): FormList | undefined {
    return this.#list;
  }

  /** Takes in the form list the table holds at `at` (none yet leaves the one known). */
  readList(list: FormList | undefined, at: number): void {
    if (list !== undefined) this.#list = list;
    this.#listReadAt = at;
  }

  /** How long ago the form list was last read from the table (Infinity: never). */
  listAgeMs(now: number): number {
    return this.#listReadAt === undefined ? Infinity : now - this.#listReadAt;
  }

  /** True until the process has seen every form's state once (its first pass). */
  get needsStates(): boolean {
    return !this.#learned;
  }

  /** Takes in the table's view of each form: when it was last polled, and its cursor. */
  learn(states: ReadonlyMap<number, FormState>): void {
    for (const [formId, state] of states) {
      const memory = this.#memory(formId);
      memory.cursor = state.cursor;
      memory.polledAt ??= state.lastOkAt ?? 0;
    }
    this.saw(states);
    this.#learned = true;
  }

  /** Keeps the states as last read from the table. */
  saw(states: ReadonlyMap<number, FormState>): void {
    for (const [formId, state] of states) this.#memory(formId).read = state;
  }

  /**
   * The form as this process last read it, with its newer unwritten view: possibly stale, for
   * the corp-wide listing, which writes nothing and so can use it (docs/guarantees.md#corp-wide).
   */
  lastRead(formId: number): FormState | undefined {
    const memory = this.#forms.get(formId);
    const read = memory?.read;
    const view = memory?.view;
    if (read === undefined || view === undefined || view.version < read.version) return read;
    const seen: { -readonly [K in keyof FormState]: FormState[K] } = {
      ...read,
      version: view.version,
      cursor: view.cursor,
      ...(view.recent !== undefined && { recent: view.recent }),
    };
    // This process's own idle write cleared them, or one it holds will.
    if (view.version > read.version || view.clears === true) {
      delete seen.continuation;
      delete seen.lastError;
    }
    return seen;
  }

  /** The pace for the forms there are now, with one listing per form. */
  cadence(formIds: readonly number[], now: number, pace: PaceSettings): Cadence {
    const hot = formIds.filter((formId) => this.#isHot(formId, now)).length;
    return cadence({ hot, cold: formIds.length - hot }, pace);
  }

  /** Whether the last `due` planned the pass on the corp-wide listing (every form due). */
  get corpPlanned(): boolean {
    return this.#corpPlanned;
  }

  /**
   * The forms due this pass, longest since polled first (never polled before all), each with
   * the lookback it reads: the whole of it once a minute, the short overlap in between.
   */
  due(
    formIds: readonly number[],
    now: number,
    pace: PaceSettings,
    lookbackSeconds: number,
    { firstPass = true, corpWide = false }: { firstPass?: boolean; corpWide?: boolean } = {},
  ): DueForm[] {
    this.#corpPlanned =
      corpWide && now >= this.corpScanPausedUntil && this.#corpWideFits(formIds, now, pace);
    const paced = this.cadence(formIds, now, pace);
    const pacedDue = formIds.filter((formId) => this.#isDue(formId, now, pace, paced, firstPass));
    this.#pacedDue = new Set(pacedDue);
    // On the corp-wide listing every form is due every pass; otherwise the budget paces them.
    return (this.#corpPlanned ? formIds : pacedDue)
      .slice()
      .sort((a, b) => (this.#polledAt(a) ?? -1) - (this.#polledAt(b) ?? -1) || a - b)
      .map((formId) => {
        // Each invocation's first pass sweeps too: a fresh process, and every scheduled tick,
        // reads the whole lookback (late arrivals, G1).
        const sweptAt = firstPass ? undefined : this.#forms.get(formId)?.sweptAt;
        const lookback = lookbackFor(sweptAt, now, lookbackSeconds);
        return { formId, lookbackSeconds: lookback.seconds, sweep: lookback.sweep };
      });
  }

  /**
   * Whether the form's turn has come at the pace the budget gives it with one listing per form:
   * on a corp-wide pass, the forms the listing cannot vouch for keep to it.
   */
  pacedDue(formId: number): boolean {
    return this.#pacedDue.has(formId);
  }

  /** A corp-wide listing at `at` took `pages` pages and sent `own` forms to their own runs. */
  noteCorpScan(at: number, pages: number, own: number): void {
    this.#corpScans = [
      ...this.#corpScans.filter((scan) => at - scan.at < MINUTE_MS),
      { at, pages, own },
    ];
  }

  /**
   * What the corp-wide listing costs a minute, from the last minute's listings: their pages,
   * and the own runs they led to; before any, one page and the forms found active.
   */
  #corpWideFits(formIds: readonly number[], now: number, pace: PaceSettings): boolean {
    const recent = this.#corpScans.filter((scan) => now - scan.at < MINUTE_MS);
    const last = recent.at(-1);
    const ownRuns =
      last === undefined
        ? formIds.filter((formId) => this.#wasActive(formId, now, MINUTE_MS)).length
        : recent.reduce((sum, scan) => sum + scan.own, 0);
    return corpWideFits({ forms: formIds.length, ownRuns, listingPages: last?.pages ?? 1 }, pace);
  }

  #isDue(
    formId: number,
    now: number,
    pace: PaceSettings,
    { hotMs, coldMs }: Cadence,
    firstPass: boolean,
  ): boolean {
    const every = this.#isHot(formId, now) ? hotMs : coldMs;
    const periodMs = pace.periodMs ?? 60_000;
    // A form paced at about once a period is polled by each invocation's first pass: the
    // schedule is that pace's clock, so a fresh process (or a test's next tick) needs no
    // memory of the last poll to keep it, and it is never more often than planned.
    if (firstPass && every <= periodMs && every > periodMs - pace.minMs) return true;
    return isDue(this.#forms.get(formId)?.polledAt, every, now, pace.minMs);
  }

  /** A pass got to the form at `at`: what it read, and whether it found anything new. */
  polled(
    formId: number,
    at: number,
    outcome: { readonly cursor: number | null; readonly swept: boolean; readonly found: boolean },
  ): void {
    const memory = this.#memory(formId);
    memory.everyMs = smoothedEvery(memory, at);
    memory.polledHereAt = at;
    memory.polledAt = at;
    if (outcome.swept) memory.sweptAt = at;
    if (outcome.found) memory.activeAt = at;
    if (outcome.cursor !== null) memory.cursor = outcome.cursor;
  }

  /**
   * `change`, also recording the form's achieved pace (this pass, begun at `passAt`, counted)
   * once this process has polled it before.
   */
  paced(formId: number, change: StateChange, passAt: number): StateChange {
    const memory = this.#forms.get(formId);
    const everyMs = memory === undefined ? undefined : smoothedEvery(memory, passAt);
    return everyMs === undefined ? change : { ...change, pollEveryMs: everyMs };
  }

  /** The last cursor seen for the form, if any. */
  cursorOf(formId: number): number | null {
    return this.#forms.get(formId)?.cursor ?? null;
  }

  /** The form as it should be read: the table's state, or this process's newer unwritten view of it. */
  overlay(state: FormState | undefined): FormState | undefined {
    if (state === undefined) return undefined;
    const view = this.#forms.get(state.formId)?.view;
    if (view === undefined || view.version !== state.version) return state;
    const seen: { -readonly [K in keyof FormState]: FormState[K] } = {
      ...state,
      cursor: view.cursor,
      ...(view.recent !== undefined && { recent: view.recent }),
    };
    // The window that continuation was for is done: a held write clears it.
    if (view.clears === true) {
      delete seen.continuation;
      delete seen.lastError;
    }
    return seen;
  }

  /** Keeps what an idle pass would have written, while the table holds `version`. */
  remember(formId: number, view: NonNullable<FormMemory['view']>): void {
    const memory = this.#memory(formId);
    memory.view = view;
    delete memory.unwritten;
  }

  /** Keeps an idle write for a later pass, and the view it would leave meanwhile. */
  hold(write: IdleWrite): void {
    const memory = this.#memory(write.formId);
    memory.view = { version: write.version, ...write.view, ...(write.flagged && { clears: true }) };
    memory.unwritten = write;
  }

  /**
   * The idle writes held for a later pass, of the forms still listed, that the table may still
   * take: none once this process has read a newer version of the form.
   */
  heldWrites(formIds: readonly number[]): IdleWrite[] {
    return formIds.flatMap((formId) => {
      const memory = this.#forms.get(formId);
      const write = memory?.unwritten;
      if (write === undefined) return [];
      return (memory?.read?.version ?? write.version) > write.version ? [] : [write];
    });
  }

  /** The table now holds this form's newest state: drop the unwritten view and the last read. */
  forget(formId: number): void {
    const memory = this.#memory(formId);
    delete memory.view;
    delete memory.read;
    delete memory.unwritten;
  }

  #isHot(formId: number, now: number): boolean {
    return this.#wasActive(formId, now, HOT_FOR_MS);
  }

  /** Whether the form found new submitters within the last `withinMs`. */
  #wasActive(formId: number, now: number, withinMs: number): boolean {
    const activeAt = this.#forms.get(formId)?.activeAt;
    return activeAt !== undefined && now - activeAt < withinMs;
  }

  #polledAt(formId: number): number | undefined {
    return this.#forms.get(formId)?.polledAt;
  }

  #memory(formId: number): FormMemory {
    let memory = this.#forms.get(formId);
    if (memory === undefined) {
      memory = {};
      this.#forms.set(formId, memory);
    }
    return memory;
  }
}

/** The time between a form's polls with one more at `at`, smoothed over the recent ones. */
function smoothedEvery(memory: FormMemory, at: number): number | undefined {
  if (memory.polledHereAt === undefined || at <= memory.polledHereAt) return memory.everyMs;
  const gap = at - memory.polledHereAt;
  return memory.everyMs === undefined ? gap : Math.round(memory.everyMs * 0.7 + gap * 0.3);
}

/** The pace settings: the fastest a form may be polled, the budget a minute, the schedule's period. */
export interface PaceSettings {
  readonly minMs: number;
  readonly perMinute: number;
  /** Between two scheduled invocations (SCHEDULE_PERIOD_SECONDS); a minute if not given. */
  readonly periodMs?: number;
}
