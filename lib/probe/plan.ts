import type { Submitter, SubmitterPage } from '../model.js';
import {
  ASSUMED_TOKEN_TTL_S,
  LIMIT_SEARCH_BOUND,
  type Learned,
  type Verdict,
  type WeibanFindings,
} from '../weiban/findings.js';

/**
 * The probe's pure half: which calls answer each unknown of docs/weiban-api.md#unknowns, and
 * what their answers prove. No I/O; lib/probe/probe.ts makes the calls. Long (about 730 lines)
 * because each of the six questions has its plan and its verdict here, side by side; a file
 * per question is the natural split when one more question comes.
 */

type Row = Pick<Submitter, 'u_id' | 'form_id' | 'submit_at'>;

/** A time window as sent: start_time and end_time, unix seconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export const CLAIMS = {
  order: 'newest first: submit_at descending, as the documentation’s example lists rows',
  timeFilter: 'start_time and end_time filter on submit_at',
  startInclusive: 'start_time is inclusive: a row whose submit_at equals start_time is listed',
  endInclusive: 'end_time is inclusive: a row whose submit_at equals end_time is listed',
  largestLimit: `limit ${LIMIT_SEARCH_BOUND} (the most PAGE_SIZE allows) is accepted`,
  formIdOptional:
    'form_id may be left out: the listing then holds every form of the corp, with the documented fields',
  expiresIn: `a token’s answer says expires_in ${ASSUMED_TOKEN_TTL_S} s, as client code assumes`,
  tokenLifetime: 'a token works for as long as its expires_in says',
  newTokenEndsOld: 'fetching a new token ends the one issued before it (10001)',
} as const;

const learned = (
  key: keyof typeof CLAIMS,
  verdict: Verdict,
  summary: string,
  evidence: readonly string[],
): Learned => ({ claim: CLAIMS[key], verdict, summary, evidence: [...evidence] });

/** `u_id 12 (submit_at 1795681600)`, for evidence. */
export const rowText = (row: Row): string => `u_id ${row.u_id} (submit_at ${row.submit_at})`;

const rowsText = (rows: readonly Row[], most = 6): string => {
  if (rows.length === 0) return 'no rows';
  const shown = rows.slice(0, most).map(rowText).join(', ');
  return rows.length > most ? `${shown} and ${rows.length - most} more` : shown;
};

// ---------------------------------------------------------------------------------------------
// Sort order

export type Order = 'desc' | 'asc' | 'unordered';

export interface PageOrder {
  /** Undefined with fewer than two distinct submit_at values. */
  readonly order?: Order;
  readonly distinct: number;
  /** How rows with one submit_at are ordered by u_id, when the page has such ties. */
  readonly ties?: Order;
}

/** How a page's rows are ordered by submit_at, and ties by u_id. */
export function pageOrder(rows: readonly Row[]): PageOrder {
  const direction = (up: number, down: number): Order | undefined =>
    up > 0 && down > 0 ? 'unordered' : down > 0 ? 'desc' : up > 0 ? 'asc' : undefined;
  let up = 0;
  let down = 0;
  let tieUp = 0;
  let tieDown = 0;
  for (let i = 1; i < rows.length; i += 1) {
    const a = rows[i - 1];
    const b = rows[i];
    if (a === undefined || b === undefined) continue;
    if (a.submit_at < b.submit_at) up += 1;
    else if (a.submit_at > b.submit_at) down += 1;
    else if (a.u_id < b.u_id) tieUp += 1;
    else if (a.u_id > b.u_id) tieDown += 1;
  }
  const order = direction(up, down);
  const ties = direction(tieUp, tieDown);
  return {
    distinct: new Set(rows.map((row) => row.submit_at)).size,
    ...(order !== undefined && { order }),
    ...(ties !== undefined && { ties }),
  };
}

/** The sort order, from the largest page the probe read. */
export function judgeOrder(
  page: SubmitterPage,
  evidence: readonly string[],
): WeibanFindings['order'] {
  const { order, distinct, ties } = pageOrder(page.result);
  const first = page.result[0];
  const last = page.result.at(-1);
  if (order === undefined || first === undefined || last === undefined) {
    return {
      ...learned(
        'order',
        'undetermined',
        `needs two submitters with different submit_at; the form has ${page.total}${distinct === 1 ? ', all at one submit_at' : ''}`,
        evidence,
      ),
    };
  }
  const tieText =
    ties === undefined
      ? 'no two rows shared a submit_at'
      : ties === 'unordered'
        ? 'rows sharing a submit_at came in no u_id order'
        : `rows sharing a submit_at came by u_id ${ties === 'desc' ? 'descending' : 'ascending'}`;
  const span = `${page.result.length} rows from ${rowText(first)} to ${rowText(last)}`;
  const facts = [...evidence, span, tieText];
  if (order === 'desc') {
    return {
      ...learned(
        'order',
        'confirmed',
        `newest first over ${page.result.length} rows; ${tieText}`,
        facts,
      ),
      observed: 'desc',
    };
  }
  return {
    ...learned(
      'order',
      'refuted',
      order === 'asc'
        ? `oldest first over ${page.result.length} rows; ${tieText}`
        : `neither newest nor oldest first over ${page.result.length} rows`,
      facts,
    ),
    observed: order,
  };
}

// ---------------------------------------------------------------------------------------------
// Time filter

/** Every row of the form with from ≤ submit_at ≤ to is in `rows` (the bounds may be infinite). */
export interface Region {
  readonly rows: readonly Row[];
  readonly from: number;
  readonly to: number;
}

/**
 * Which rows of the form a first page shows all of. All of them when the page holds the whole
 * form; with a known order, every row before the page's last submit_at (that value's rows may
 * go on to the next page); with none, nothing can be known.
 */
export function knownRegion(page: SubmitterPage, order: Order | undefined): Region | undefined {
  const rows = page.result;
  const last = rows.at(-1);
  if (rows.length >= page.total) return { rows, from: -Infinity, to: Infinity };
  if (last === undefined) return undefined;
  if (order === 'desc') return { rows, from: last.submit_at + 1, to: Infinity };
  if (order === 'asc') return { rows, from: -Infinity, to: last.submit_at - 1 };
  return undefined;
}

/** The windows that tell the filter's bounds apart, around two adjacent known submit_at values. */
export interface TimePlan {
  /** The earlier and the later value; no row lies between them. */
  readonly t: number;
  readonly u: number;
  /** [t, u], then [t, t], then (when its rows are known) [t − 1, u + 1]. */
  readonly windows: readonly TimeWindow[];
}

const inRegion = (region: Region, at: number): boolean => at >= region.from && at <= region.to;

/**
 * Two adjacent submit_at values t < u whose rows are all known (the middle such pair, away from
 * the newest rows), and the windows that tell the hypotheses apart:
 *
 * | hypothesis      | [t, u] | [t, t] | [t − 1, u + 1] |
 * | --------------- | ------ | ------ | -------------- |
 * | exact           | A ∪ B  | A      | A ∪ B          |
 * | exclusive-start | B      | none   | A ∪ B          |
 * | exclusive-end   | A      | none   | A ∪ B          |
 * | exclusive-both  | none   | none   | A ∪ B          |
 * | ignored         | all    | all    | all            |
 *
 * (A: the rows at t, B: the rows at u.) A string says why no plan is possible.
 */
export function planTimeWindows(region: Region | undefined, limit: number): TimePlan | string {
  if (region === undefined) {
    return 'the form has more rows than one page and no known order, so no submit_at value is known to have all its rows in view';
  }
  const counts = new Map<number, number>();
  for (const row of region.rows) {
    if (inRegion(region, row.submit_at)) {
      counts.set(row.submit_at, (counts.get(row.submit_at) ?? 0) + 1);
    }
  }
  const values = [...counts.keys()].sort((a, b) => a - b);
  if (values.length < 2) {
    return `needs two submitters with different submit_at whose rows are all in view; the form shows ${values.length === 0 ? 'none' : 'one submit_at value only'}`;
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < values.length; i += 1) {
    const t = values[i];
    const u = values[i + 1];
    if (t === undefined || u === undefined) continue;
    if ((counts.get(t) ?? 0) + (counts.get(u) ?? 0) <= limit) pairs.push([t, u]);
  }
  const pair = pairs[Math.floor((pairs.length - 1) / 2)];
  if (pair === undefined) {
    return `no two adjacent submit_at values have ${limit} rows or fewer between them`;
  }
  const [t, u] = pair;
  const windows: TimeWindow[] = [
    { start: t, end: u },
    { start: t, end: t },
  ];
  const wide = { start: t - 1, end: u + 1 };
  const wideRows = region.rows.filter((row) => admits('exact', wide, row.submit_at)).length;
  if (inRegion(region, wide.start) && inRegion(region, wide.end) && wideRows <= limit) {
    windows.push(wide);
  }
  return { t, u, windows };
}

/** What the filter might be: exact, a bound off by one second, both, or no filter at all. */
export type Hypothesis =
  'exact' | 'exclusive-start' | 'exclusive-end' | 'exclusive-both' | 'ignored';

const BOUNDED = ['exact', 'exclusive-start', 'exclusive-end', 'exclusive-both'] as const;
const START_INCLUSIVE: ReadonlySet<Hypothesis> = new Set(['exact', 'exclusive-end']);
const END_INCLUSIVE: ReadonlySet<Hypothesis> = new Set(['exact', 'exclusive-start']);

/** Whether a filter working as `hypothesis` lists a row at `at` for `window`. */
export function admits(hypothesis: Hypothesis, window: TimeWindow, at: number): boolean {
  if (hypothesis === 'ignored') return true;
  const startOk = START_INCLUSIVE.has(hypothesis) ? at >= window.start : at > window.start;
  const endOk = END_INCLUSIVE.has(hypothesis) ? at <= window.end : at < window.end;
  return startOk && endOk;
}

/** One window's answer. */
export interface WindowSeen {
  readonly window: TimeWindow;
  readonly page: SubmitterPage;
}

export interface TimeEvidence {
  readonly formId: number;
  readonly region: Region;
  /**
   * For a form's own listing: its total without a window. For a listing without form_id: the
   * corp's total without a window, and rows of other forms are only checked against the bounds.
   */
  readonly scope:
    | { readonly kind: 'form'; readonly total: number }
    | { readonly kind: 'corp'; readonly total: number };
  readonly seen: readonly WindowSeen[];
}

const key = (row: Row): string => `${row.form_id}:${row.u_id}`;

/** The hypotheses every window's answer agrees with. */
export function consistentHypotheses(evidence: TimeEvidence): Hypothesis[] {
  const { region, scope, seen, formId } = evidence;
  const fits = (hypothesis: Hypothesis, { window, page }: WindowSeen): boolean => {
    if (hypothesis === 'ignored') return page.total >= scope.total;
    const predicted = new Set(
      region.rows.filter((row) => admits(hypothesis, window, row.submit_at)).map(key),
    );
    const own = page.result.filter((row) => row.form_id === formId);
    if (!own.every((row) => predicted.has(key(row)))) return false;
    if (scope.kind === 'form') {
      return own.length === page.result.length && page.total === predicted.size;
    }
    if (!page.result.every((row) => admits(hypothesis, window, row.submit_at))) return false;
    return page.result.length < page.total || own.length === predicted.size;
  };
  const all: Hypothesis[] = [...BOUNDED, 'ignored'];
  return all.filter((hypothesis) => seen.every((window) => fits(hypothesis, window)));
}

const describeBounds = (hypothesis: (typeof BOUNDED)[number]): string =>
  ({
    exact: 'both bounds inclusive',
    'exclusive-start': 'start_time exclusive, end_time inclusive',
    'exclusive-end': 'start_time inclusive, end_time exclusive',
    'exclusive-both': 'both bounds exclusive',
  })[hypothesis];

export interface TimeVerdicts {
  readonly timeFilter: Learned;
  readonly startInclusive: Learned;
  readonly endInclusive: Learned;
}

/** The time filter's three claims, from the hypotheses the windows left standing. */
export function judgeTimeFilter(
  consistent: readonly Hypothesis[],
  evidence: readonly string[],
): TimeVerdicts {
  const bounded = consistent.filter(
    (hypothesis): hypothesis is (typeof BOUNDED)[number] => hypothesis !== 'ignored',
  );
  const ignored = consistent.includes('ignored');
  const bound = (
    name: 'startInclusive' | 'endInclusive',
    inclusive: ReadonlySet<Hypothesis>,
    label: string,
  ): Learned => {
    if (ignored || bounded.length === 0) {
      return learned(
        name,
        'undetermined',
        'no filter on submit_at was seen to test it with',
        evidence,
      );
    }
    if (bounded.every((hypothesis) => inclusive.has(hypothesis))) {
      return learned(name, 'confirmed', `rows at ${label} were listed`, evidence);
    }
    if (bounded.every((hypothesis) => !inclusive.has(hypothesis))) {
      return learned(name, 'refuted', `${label} is exclusive: rows at it were left out`, evidence);
    }
    return learned(name, 'undetermined', 'the windows read could not tell', evidence);
  };
  let timeFilter: Learned;
  if (consistent.length === 0) {
    timeFilter = learned(
      'timeFilter',
      'refuted',
      'the rows returned fit no filter on submit_at, exact or off by one second, nor no filter',
      evidence,
    );
  } else if (bounded.length === 0) {
    timeFilter = learned(
      'timeFilter',
      'refuted',
      'ignored: every window listed the whole form',
      evidence,
    );
  } else if (ignored) {
    timeFilter = learned(
      'timeFilter',
      'undetermined',
      'the windows read could not tell a filter from none',
      evidence,
    );
  } else {
    timeFilter = learned(
      'timeFilter',
      'confirmed',
      `each window listed the rows a filter on submit_at would: ${bounded.map(describeBounds).join(', or ')}`,
      evidence,
    );
  }
  return {
    timeFilter,
    startInclusive: bound('startInclusive', START_INCLUSIVE, 'start_time'),
    endInclusive: bound('endInclusive', END_INCLUSIVE, 'end_time'),
  };
}

/** The same three claims left open, for one reason. */
export function timeUndetermined(reason: string, evidence: readonly string[] = []): TimeVerdicts {
  return {
    timeFilter: learned('timeFilter', 'undetermined', reason, evidence),
    startInclusive: learned('startInclusive', 'undetermined', reason, evidence),
    endInclusive: learned('endInclusive', 'undetermined', reason, evidence),
  };
}

/** What a window's answer says, for evidence. */
export function windowText({ window, page }: WindowSeen, formId?: number): string {
  const rows = formId === undefined ? page.result : page.result.filter((r) => r.form_id === formId);
  const of = formId === undefined ? '' : ` of form ${formId}`;
  return `[${window.start}, ${window.end}] listed total ${page.total}; rows${of}: ${rowsText(rows)}`;
}

// ---------------------------------------------------------------------------------------------
// Largest limit

/**
 * A binary search for the largest `limit` Weiban accepts (21901 is the refusal), from a limit
 * it accepted up to `bound`: first the bound itself, then halves.
 */
export class LimitSearch {
  #accepted: number | undefined;
  #refused: number | undefined;
  readonly bound: number;

  constructor(
    { accepted, refused }: { accepted?: number | undefined; refused?: number | undefined },
    bound = LIMIT_SEARCH_BOUND,
  ) {
    this.#accepted = accepted;
    this.#refused = refused;
    this.bound = bound;
  }

  get accepted(): number | undefined {
    return this.#accepted;
  }

  get refused(): number | undefined {
    return this.#refused;
  }

  /** The next limit to try; undefined when the search is done. */
  next(): number | undefined {
    const lo = this.#accepted;
    if (lo === undefined || lo >= this.bound) return undefined;
    const hi = this.#refused;
    if (hi === undefined || hi > this.bound) return this.bound;
    if (hi - lo <= 1) return undefined;
    return Math.floor((lo + hi) / 2);
  }

  accept(limit: number): void {
    this.#accepted = Math.max(this.#accepted ?? 0, limit);
  }

  refuse(limit: number): void {
    this.#refused = Math.min(this.#refused ?? Infinity, limit);
  }

  get done(): boolean {
    return this.next() === undefined;
  }
}

/** The largest limit's claim, from where the search ended and why. */
export function judgeLimit(
  search: LimitSearch,
  servedAtMost: number | undefined,
  stoppedBy: string | undefined,
  evidence: readonly string[],
): WeibanFindings['largestLimit'] {
  const { accepted, refused, bound } = search;
  const served =
    servedAtMost === undefined
      ? ''
      : `; but it served at most ${servedAtMost} rows a page while total said more`;
  const data = {
    searchedUpTo: bound,
    ...(accepted !== undefined && { accepted }),
    ...(refused !== undefined && { refused }),
    ...(servedAtMost !== undefined && { servedAtMost }),
  };
  if (accepted !== undefined && accepted >= bound) {
    return {
      ...learned(
        'largestLimit',
        'confirmed',
        `limit ${accepted} accepted; the search looked no further than ${bound}${served}`,
        evidence,
      ),
      ...data,
    };
  }
  if (accepted !== undefined && refused !== undefined && refused - accepted <= 1) {
    return {
      ...learned(
        'largestLimit',
        'refuted',
        `the largest limit accepted is ${accepted}: ${refused} got 21901${served}`,
        evidence,
      ),
      ...data,
    };
  }
  const open =
    accepted === undefined
      ? `no limit was accepted${refused === undefined ? '' : ` (${refused} got 21901)`}`
      : `limit ${accepted} accepted${refused === undefined ? '' : `, ${refused} got 21901`}`;
  return {
    ...learned(
      'largestLimit',
      refused !== undefined && refused <= bound && accepted !== undefined
        ? 'refuted'
        : 'undetermined',
      `${open}; the search stopped: ${stoppedBy ?? 'no more limits to try'}${served}`,
      evidence,
    ),
    ...data,
  };
}

// ---------------------------------------------------------------------------------------------
// form_id

/** What the listing without form_id answered. */
export type CorpListing =
  | { readonly kind: 'page'; readonly page: SubmitterPage }
  | { readonly kind: 'refused'; readonly errcode: number; readonly errmsg: string }
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'failed'; readonly detail: string };

export interface CorpWindow {
  readonly onSubmitAt: Verdict;
  readonly inclusive: Verdict;
  readonly evidence: readonly string[];
}

/** Whether form_id may be left out, and whether the listing then spans the corp. */
export function judgeFormId(
  formId: number,
  formTotal: number | undefined,
  listing: CorpListing,
  window: CorpWindow | undefined,
  evidence: readonly string[],
): WeibanFindings['formIdOptional'] {
  const facts = [...evidence, ...(window?.evidence ?? [])];
  const windowFacts = {
    windowOnSubmitAt: window?.onSubmitAt ?? 'undetermined',
    windowInclusive: window?.inclusive ?? 'undetermined',
  } as const;
  const none = { formsSeen: [], ...windowFacts };
  switch (listing.kind) {
    case 'refused':
      return {
        ...learned(
          'formIdOptional',
          listing.errcode === 21901 ? 'refuted' : 'undetermined',
          listing.errcode === 21901
            ? `form_id is required: without it Weiban answered 21901 (${listing.errmsg})`
            : `without form_id Weiban answered errcode ${listing.errcode} (${listing.errmsg})`,
          facts,
        ),
        ...none,
      };
    case 'malformed':
      return {
        ...learned(
          'formIdOptional',
          'refuted',
          `without form_id Weiban answered, but not with the documented fields: ${listing.detail}`,
          facts,
        ),
        ...none,
        documentedFields: false,
      };
    case 'failed':
      return {
        ...learned(
          'formIdOptional',
          'undetermined',
          `the listing without form_id failed: ${listing.detail}`,
          facts,
        ),
        ...none,
      };
    case 'page':
      break;
  }
  const { page } = listing;
  const formsSeen = [...new Set(page.result.map((row) => row.form_id))].sort((a, b) => a - b);
  const seen = {
    formsSeen,
    ...windowFacts,
    ...(page.result.length > 0 && { documentedFields: true }),
  };
  const listed = `without form_id Weiban listed total ${page.total}, rows of ${formsSeen.length === 0 ? 'no form' : `form${formsSeen.length > 1 ? 's' : ''} ${formsSeen.join(', ')}`}`;
  if (formTotal !== undefined && page.total < formTotal) {
    return {
      ...learned(
        'formIdOptional',
        'refuted',
        `${listed}: fewer than form ${formId} alone has (${formTotal}), so not the whole corp`,
        facts,
      ),
      ...seen,
    };
  }
  if (formsSeen.length < 2) {
    return {
      ...learned(
        'formIdOptional',
        'undetermined',
        `${listed}: form_id may be left out, but one form’s rows cannot show a listing of the whole corp (do other forms have submitters?)`,
        facts,
      ),
      ...seen,
    };
  }
  const windowed =
    window === undefined
      ? '; its time window was not tried'
      : `; in a time window: the filter on submit_at ${window.onSubmitAt}, both bounds inclusive ${window.inclusive}`;
  return {
    ...learned(
      'formIdOptional',
      'confirmed',
      `${listed}, with the documented fields${windowed}`,
      facts,
    ),
    ...seen,
  };
}

/** The corp listing's time window, from the hypotheses its answer left standing. */
export function judgeCorpWindow(
  consistent: readonly Hypothesis[],
  evidence: readonly string[],
): CorpWindow {
  const verdicts = judgeTimeFilter(consistent, evidence);
  const start = verdicts.startInclusive.verdict;
  const end = verdicts.endInclusive.verdict;
  const inclusive: Verdict =
    start === 'confirmed' && end === 'confirmed'
      ? 'confirmed'
      : start === 'refuted' || end === 'refuted'
        ? 'refuted'
        : 'undetermined';
  return { onSubmitAt: verdicts.timeFilter.verdict, inclusive, evidence };
}

// ---------------------------------------------------------------------------------------------
// Token

/** A token answer the probe saw on the wire: its expires_in, never the token. */
export interface TokenSeen {
  readonly call: string;
  readonly expiresIn: number | undefined;
}

/** What the tokens fetched during the probe said of their lifetime. */
export function judgeExpiresIn(tokens: readonly TokenSeen[]): WeibanFindings['expiresIn'] {
  const evidence = tokens.map((token) => token.call);
  const last = tokens.at(-1);
  if (last === undefined) {
    return learned(
      'expiresIn',
      'undetermined',
      'no token was fetched: the one in use came from the table (the new-token test fetches one)',
      evidence,
    );
  }
  if (last.expiresIn === undefined) {
    return learned(
      'expiresIn',
      'refuted',
      'the token’s answer has no expires_in; the service assumes WEIBAN_TOKEN_TTL_SECONDS',
      evidence,
    );
  }
  return {
    ...learned(
      'expiresIn',
      last.expiresIn === ASSUMED_TOKEN_TTL_S ? 'confirmed' : 'refuted',
      `expires_in ${last.expiresIn} s`,
      evidence,
    ),
    seconds: last.expiresIn,
  };
}

/** The real lifetime cannot be seen in one run; this says what can. */
export function judgeLifetime(expiresIn: number | undefined, elapsedMs: number): Learned {
  const says =
    expiresIn === undefined ? 'no expires_in was seen' : `expires_in says ${expiresIn} s`;
  return learned(
    'tokenLifetime',
    'undetermined',
    `${says}; a token’s real life shows only over time (the probe ran ${Math.round(elapsedMs / 1000)} s): the poller refreshes 300 s before expires_in, so a 10001 in its metrics before then would mean a shorter one`,
    [],
  );
}

/** How one try of a token went: answered, refused with 10001, or failed otherwise. */
export type TokenTry = 'ok' | 'refused' | { readonly failed: string };

const tryText = (outcome: TokenTry | undefined): string =>
  outcome === undefined
    ? 'not tried'
    : outcome === 'ok'
      ? 'answered'
      : outcome === 'refused'
        ? 'errcode 10001'
        : outcome.failed;

/** The steps of the new-token test and what each answered. */
export interface NewTokenTest {
  /** The token in use, tried before the new one was fetched. */
  readonly before: TokenTry;
  /** Whether a second token came, or why not. */
  readonly fetched?: 'ok' | 'same token' | { readonly failed: string };
  /** The first token, tried after. */
  readonly oldAfter?: TokenTry;
  /** The new token, tried after. */
  readonly newAfter?: TokenTry;
  readonly evidence: readonly string[];
}

export function judgeNewToken(test: NewTokenTest): Learned {
  const { evidence, fetched } = test;
  const open = (why: string) => learned('newTokenEndsOld', 'undetermined', why, evidence);
  if (test.before !== 'ok') {
    return open(`the token in use failed before the test: ${tryText(test.before)}`);
  }
  if (fetched !== 'ok') {
    return open(
      `no second token: ${fetched === undefined ? 'not fetched' : fetched === 'same token' ? 'Weiban gave the same token again' : fetched.failed}`,
    );
  }
  if (test.newAfter !== 'ok') return open(`the new token itself failed: ${tryText(test.newAfter)}`);
  if (test.oldAfter === 'refused') {
    return learned(
      'newTokenEndsOld',
      'confirmed',
      'the first token got 10001 once a second was issued; cost: one token fetch, shared with the poller through the table',
      evidence,
    );
  }
  if (test.oldAfter === 'ok') {
    return learned(
      'newTokenEndsOld',
      'refuted',
      'the first token still worked after a second was issued (at once; whether it ends later shows only over time); cost: one token fetch',
      evidence,
    );
  }
  return open(`the first token, tried again, failed otherwise: ${tryText(test.oldAfter)}`);
}

/** A question the probe did not get to. */
export function notAnswered(key: keyof typeof CLAIMS, reason: string): Learned {
  return learned(key, 'undetermined', reason, []);
}
