import type { Continuation } from '../model.js';
import type { SubmitterSource } from '../ports.js';
import { MalformedResponseError } from '../weiban/errors.js';
import { assessPage, rowKey, type PageAssessment } from './window.js';

// Full pages in a row that bring no row unseen in this pass: Weiban is ignoring `offset`.
const STALLED_PAGES = 3;

/** One page of the window, read and sorted. */
export interface PageRead {
  readonly kind: 'page';
  /** Where the page started. */
  readonly offset: number;
  readonly rows: number;
  readonly total: number;
  readonly assessment: PageAssessment;
  /** A page of the second pass that finds rows inserted above the read position (docs/guarantees.md#g3). */
  readonly catchUp: boolean;
  /** Rows moved while paging: this page ended the first pass, and a second pass from the top follows. */
  readonly moved?: { readonly repeats: number; readonly insertedBetweenRuns: number };
}

/** The window is read to its end, the second pass included. */
export interface WindowDone {
  readonly kind: 'done';
  readonly total: number;
}

/** No page may start (the deadline is near); the next run resumes at `offset` (docs/guarantees.md#g6). */
export interface PagingStopped {
  readonly kind: 'stopped';
  readonly offset: number;
}

export interface PagerOptions {
  /**
   * The form listed by its `form_id`, or the forms a listing without `form_id` is read for
   * (the corp-wide listing, lib/poll/corp-scan.ts); rows of other forms are skipped.
   */
  readonly formId: number | ReadonlySet<number>;
  /** The frozen window and where to start in it (docs/guarantees.md#g3). */
  readonly window: Continuation;
  readonly pageSize: number;
  /**
   * Weiban's window proved exact on submit_at, both bounds inclusive (the probe's findings):
   * start_time goes as it is and rows are not filtered by submit_at again. Default false.
   */
  readonly exactTimeFilter?: boolean;
  readonly source: Pick<SubmitterSource, 'listSubmitters'>;
  /** Asked before every page: false stops the window where it is (docs/guarantees.md#g6). */
  readonly mayStartPage: () => boolean;
  readonly signal?: AbortSignal;
}

interface Pass {
  offset: number;
  /** Rows met again: each means one row was inserted above the read position. */
  repeats: number;
  /** Rows this pass met that no earlier page of the run had. */
  unseen: number;
  stalled: number;
  readonly seenThisPass: Set<string>;
  /** A second pass stops once it has found this many unseen rows and reached this offset. */
  readonly until?: { readonly unseen: number; readonly offset: number };
}

/**
 * Reads one form's frozen window page by page, for the poller and the backfill alike. Pages are
 * read from the window's offset to its end. When rows moved meanwhile (a row met twice, or a
 * `total` that grew since the window began), one more pass from the top finds the rows that slid
 * past the read position, before the caller may move any cursor (docs/guarantees.md#g3). Every page is validated
 * and sorted; what to do with its candidates is the caller's business.
 */
export class WindowPager {
  readonly #o: PagerOptions;
  /** Every row read in this run (rowKey): the second pass meets the first pass's rows by design. */
  readonly #seen = new Set<string>();
  #pass: Pass;
  #catchingUp = false;
  #baseline: number | undefined;
  /** Weiban's `total` at the last page, once the window is read to its end. */
  #finished: number | undefined;

  constructor(options: PagerOptions) {
    this.#o = options;
    this.#baseline = options.window.total;
    this.#pass = newPass(options.window.offset);
  }

  /** Where the page being read, or the next one, starts: a failure resumes here. */
  get offset(): number {
    return this.#pass.offset;
  }

  /**
   * Weiban's `total` when this window's first page was read. Every continuation carries it
   * until the window is done: growth since means rows may have landed above the read position.
   */
  get baseline(): number | undefined {
    return this.#baseline;
  }

  /** The next page, or why there is none. */
  async next(): Promise<PageRead | WindowDone | PagingStopped> {
    const { formId, window, pageSize, source, signal } = this.#o;
    const exact = this.#o.exactTimeFilter === true;
    if (this.#finished !== undefined) return { kind: 'done', total: this.#finished };
    const pass = this.#pass;
    if (!this.#o.mayStartPage()) return { kind: 'stopped', offset: pass.offset };
    const offset = pass.offset;
    const page = await source.listSubmitters(
      {
        ...(typeof formId === 'number' && { formId }),
        // One second early unless the probe proved Weiban's start bound inclusive.
        startTime: exact ? window.start : Math.max(0, window.start - 1),
        endTime: window.end,
        offset,
        limit: pageSize,
      },
      signal,
    );
    this.#baseline ??= page.total;
    const assessment = assessPage({
      formId,
      window,
      offset,
      limit: pageSize,
      total: page.total,
      rows: page.result,
      handled: this.#seen,
      filterByTime: !exact,
    });
    const fresh = page.result.filter((row) => !pass.seenThisPass.has(rowKey(row))).length;
    for (const row of page.result) {
      this.#seen.add(rowKey(row));
      pass.seenThisPass.add(rowKey(row));
    }
    pass.repeats += assessment.repeated;
    pass.unseen += page.result.length - assessment.repeated;
    // Only rows met earlier in this same pass say Weiban is ignoring `offset`.
    pass.stalled = page.result.length > 0 && fresh === 0 ? pass.stalled + 1 : 0;
    if (pass.stalled >= STALLED_PAGES && !assessment.exhausted) {
      throw new MalformedResponseError(
        'form/user/list',
        `offset ${offset} returns only rows already read`,
      );
    }
    const read = {
      kind: 'page' as const,
      offset,
      rows: page.result.length,
      total: page.total,
      assessment,
      catchUp: this.#catchingUp,
    };
    const reached =
      pass.until !== undefined &&
      pass.unseen >= pass.until.unseen &&
      assessment.nextOffset >= pass.until.offset;
    if (!assessment.exhausted && !reached) {
      pass.offset = assessment.nextOffset;
      return read;
    }
    const moved = this.#endPass(page.total);
    return moved === undefined ? read : { ...read, moved };
  }

  /** Ends a pass; returns what moved when a second pass must follow. */
  #endPass(total: number): PageRead['moved'] {
    if (this.#catchingUp) {
      this.#finished = total;
      return undefined;
    }
    // A row met again on a later page means one was inserted above the read position, and a
    // continuation whose total grew means rows were inserted between runs. Either way one pass
    // from the top finds them before the cursor moves past them (docs/guarantees.md#g3).
    const { window } = this.#o;
    const insertedBetweenRuns =
      window.total !== undefined && total > window.total ? window.offset + total - window.total : 0;
    const { repeats } = this.#pass;
    if (repeats === 0 && insertedBetweenRuns === 0) {
      this.#finished = total;
      return undefined;
    }
    this.#catchingUp = true;
    this.#pass = newPass(0, { unseen: repeats, offset: insertedBetweenRuns });
    return { repeats, insertedBetweenRuns };
  }
}

function newPass(offset: number, until?: Pass['until']): Pass {
  return {
    offset,
    repeats: 0,
    unseen: 0,
    stalled: 0,
    seenThisPass: new Set(),
    ...(until !== undefined && { until }),
  };
}
