import type { Clock } from '../clock.js';
import { isAbort } from '../errors.js';
import type { SubmitterPage } from '../model.js';
import type { ListPageQuery } from '../weiban/client.js';
import {
  ERRCODE,
  MalformedResponseError,
  RateLimitedError,
  TransportError,
  WeibanApiError,
} from '../weiban/errors.js';
import { LIMIT_SEARCH_BOUND, type Learned, type WeibanFindings } from '../weiban/findings.js';
import {
  consistentHypotheses,
  judgeCorpWindow,
  judgeExpiresIn,
  judgeFormId,
  judgeLifetime,
  judgeLimit,
  judgeNewToken,
  judgeOrder,
  judgeTimeFilter,
  knownRegion,
  LimitSearch,
  notAnswered,
  planTimeWindows,
  timeUndetermined,
  windowText,
  type CorpListing,
  type CorpWindow,
  type TimePlan,
  type TimeVerdicts,
  type TokenTry,
  type WindowSeen,
} from './plan.js';
import type { WireLog } from './wire.js';

/** The documentation's example `limit`, tried when PAGE_SIZE is refused. */
const DOC_EXAMPLE_LIMIT = 10;
/** Calls kept for the steps after the limit search: 3 windows, 2 listings without form_id. */
const RESERVE_TIME = 3;
const RESERVE_FORM_ID = 2;
/** The new-token test: the token in use, a new token, then the old and the new one. */
const NEW_TOKEN_CALLS = 4;

/** The Weiban reads the probe makes, all through the service's own client and token. */
export interface ProbeDeps {
  readonly weiban: {
    listPage(query: ListPageQuery, signal?: AbortSignal): Promise<SubmitterPage>;
    listPageWithToken(
      token: string,
      query: ListPageQuery,
      signal?: AbortSignal,
    ): Promise<SubmitterPage>;
  };
  /** The corp's shared token: the new-token test replaces it for every caller. */
  readonly tokens: {
    get(signal?: AbortSignal): Promise<string>;
    replace(bad: string, signal?: AbortSignal): Promise<string>;
  };
  /** Below the client: counts every request and refuses those beyond the bound. */
  readonly wire: WireLog;
  readonly clock: Clock;
}

export interface ProbeRequest {
  readonly corpId: string;
  readonly baseUrl: string;
  readonly formId: number;
  /** PAGE_SIZE: the first listing's limit. */
  readonly pageSize: number;
  /** Whether to run the new-token test (it costs a token fetch). */
  readonly newToken: boolean;
  readonly signal?: AbortSignal;
  /** One line per step as it starts. */
  readonly progress?: (line: string) => void;
}

type Listed =
  | { readonly ok: true; readonly page: SubmitterPage; readonly evidence: string[] }
  | {
      readonly ok: false;
      /** refused: an errcode; stop: blocked or out of calls, so no further call is made. */
      readonly kind: 'refused' | 'malformed' | 'failed' | 'stop';
      readonly errcode?: number;
      /** Weiban's own errmsg, already masked for credentials. */
      readonly errmsg?: string;
      readonly detail: string;
      readonly evidence: string[];
    };

/**
 * Asks Weiban a small, bounded number of read-only questions (docs/weiban-api.md#unknowns)
 * and returns what each answer proves. Every request goes through the corp's shared budget;
 * a block, the bound or a failure leaves the questions it stops undetermined, saying why.
 */
export interface ProbeResult {
  readonly findings: WeibanFindings;
  /** Why nothing could be learned: the first listing failed. */
  readonly failed?: string;
}

/**
 * Runs the probe's plan against Weiban, one bounded call at a time. About 460 lines with its
 * helpers: the questions run in order and share the call counter, the token and the rows read,
 * so they stay one sequence.
 */
export async function probe(deps: ProbeDeps, request: ProbeRequest): Promise<ProbeResult> {
  const { wire, clock } = deps;
  const { formId, signal } = request;
  const say = request.progress ?? (() => undefined);
  const started = clock.now();
  let stop: string | undefined;

  const list = async (query: ListPageQuery, token?: string): Promise<Listed> => {
    const from = wire.sent;
    if (stop !== undefined) return { ok: false, kind: 'stop', detail: stop, evidence: [] };
    if (wire.left < 1) {
      return { ok: false, kind: 'stop', detail: outOfCalls(wire.maxCalls), evidence: [] };
    }
    try {
      const page =
        token === undefined
          ? await deps.weiban.listPage(query, signal)
          : await deps.weiban.listPageWithToken(token, query, signal);
      return { ok: true, page, evidence: wire.since(from) };
    } catch (error: unknown) {
      if (isAbort(error) || signal?.aborted === true) throw error;
      const evidence = wire.since(from);
      if (error instanceof RateLimitedError) {
        stop = `Weiban blocks ${error.endpoint} until ${new Date(error.until).toISOString()} (errcode ${error.errcode}); run the probe again after`;
        return { ok: false, kind: 'stop', detail: stop, evidence };
      }
      if (wire.bounded) {
        stop = outOfCalls(wire.maxCalls);
        return { ok: false, kind: 'stop', detail: stop, evidence };
      }
      if (error instanceof WeibanApiError) {
        return {
          ok: false,
          kind: 'refused',
          errcode: error.errcode,
          errmsg: error.errmsg,
          detail: error.message,
          evidence,
        };
      }
      if (error instanceof MalformedResponseError) {
        return { ok: false, kind: 'malformed', detail: error.issues, evidence };
      }
      if (error instanceof TransportError) {
        return { ok: false, kind: 'failed', detail: error.message, evidence };
      }
      throw error;
    }
  };

  // 1. The form's first page, with no time window: the rows every later question picks from.
  say(`Listing form ${formId} with no time window (limit ${request.pageSize})`);
  const search = new LimitSearch({});
  const limitEvidence: string[] = [];
  let servedAtMost: number | undefined;
  let largest: { page: SubmitterPage; evidence: string[] } | undefined;
  const accepted = (limit: number, listed: Listed & { ok: true }) => {
    search.accept(limit);
    const { page } = listed;
    if (page.result.length < Math.min(limit, page.total)) {
      servedAtMost = Math.min(servedAtMost ?? Infinity, page.result.length);
    }
    if (largest === undefined || page.result.length > largest.page.result.length) {
      largest = { page, evidence: listed.evidence };
    }
  };
  let first = await list({ formId, limit: request.pageSize, offset: 0 });
  limitEvidence.push(...first.evidence);
  let firstLimit = request.pageSize;
  if (!first.ok && first.errcode === ERRCODE.formParams && request.pageSize > DOC_EXAMPLE_LIMIT) {
    search.refuse(request.pageSize);
    say(
      `Limit ${request.pageSize} was refused; listing with ${DOC_EXAMPLE_LIMIT}, the documentation’s example`,
    );
    firstLimit = DOC_EXAMPLE_LIMIT;
    first = await list({ formId, limit: DOC_EXAMPLE_LIMIT, offset: 0 });
    limitEvidence.push(...first.evidence);
  }
  if (first.ok) accepted(firstLimit, first);
  else if (first.errcode === ERRCODE.formParams) search.refuse(firstLimit);

  // 2. The largest limit: a binary search, with calls kept for the questions after it.
  const reserve = RESERVE_TIME + RESERVE_FORM_ID + (request.newToken ? NEW_TOKEN_CALLS : 0);
  let searchStopped: string | undefined;
  if (first.ok && !search.done) {
    say(`Largest limit: searching up to ${LIMIT_SEARCH_BOUND} (21901 is the refusal)`);
  }
  for (let limit = search.next(); first.ok && limit !== undefined; limit = search.next()) {
    if (wire.left - reserve < 1) {
      searchStopped = `calls kept for the other questions (at most ${wire.maxCalls})`;
      break;
    }
    const listed = await list({ formId, limit, offset: 0 });
    limitEvidence.push(...listed.evidence);
    if (listed.ok) accepted(limit, listed);
    else if (listed.errcode === ERRCODE.formParams) {
      search.refuse(limit);
      limitEvidence.push(`limit ${limit} refused: ${listed.detail}`);
    } else {
      searchStopped = listed.detail;
      break;
    }
  }
  const largestLimit = first.ok
    ? judgeLimit(search, servedAtMost, searchStopped, limitEvidence)
    : {
        ...notAnswered('largestLimit', `the first listing failed: ${first.detail}`),
        searchedUpTo: LIMIT_SEARCH_BOUND,
        ...(search.refused !== undefined && { refused: search.refused }),
      };
  if (!first.ok) {
    // Nothing else can be learned without one listing that works.
    const reason = `the first listing failed: ${first.detail}`;
    const findings = finish(deps, request, started, {
      order: notAnswered('order', reason),
      ...timeUndetermined(reason, first.evidence),
      largestLimit: { ...largestLimit, evidence: limitEvidence },
      formIdOptional: formIdUnanswered(reason),
      newTokenEndsOld: notAnswered('newTokenEndsOld', reason),
    });
    return { findings, failed: reason };
  }
  const firstPage = first.page;

  // 3. The sort order, over the largest page read.
  const seenPage = largest ?? { page: firstPage, evidence: first.evidence };
  const order = judgeOrder(seenPage.page, seenPage.evidence);

  // 4. The time filter: windows at known rows' submit_at.
  const region = knownRegion(seenPage.page, order.observed);
  const plan = planTimeWindows(region, firstLimit);
  let time: TimeVerdicts;
  if (typeof plan === 'string' || region === undefined) {
    time = timeUndetermined(typeof plan === 'string' ? plan : 'no rows in view');
  } else {
    say(`Time filter: windows at submit_at ${plan.t} and ${plan.u}, the submit_at of known rows`);
    const seen: WindowSeen[] = [];
    const evidence: string[] = [];
    let failed: string | undefined;
    for (const window of plan.windows) {
      const listed = await list({
        formId,
        startTime: window.start,
        endTime: window.end,
        limit: firstLimit,
        offset: 0,
      });
      evidence.push(...listed.evidence);
      if (!listed.ok) {
        failed = listed.detail;
        break;
      }
      const answer = { window, page: listed.page };
      seen.push(answer);
      evidence.push(windowText(answer));
    }
    const consistent = consistentHypotheses({
      formId,
      region,
      scope: { kind: 'form', total: firstPage.total },
      seen,
    });
    time =
      failed !== undefined && seen.length < 2
        ? timeUndetermined(`a window failed: ${failed}`, evidence)
        : judgeTimeFilter(consistent, evidence);
  }

  // 5. form_id: the same listing without it, then with a window.
  const formIdOptional = await askFormId(list, say, {
    formId,
    formTotal: firstPage.total,
    limit: firstLimit,
    windowLimit: Math.min(search.accepted ?? firstLimit, LIMIT_SEARCH_BOUND),
    plan: typeof plan === 'string' ? undefined : plan,
    region,
  });

  // 6. Does a new token end the old one? Last: it changes the corp's shared token.
  const newTokenEndsOld = request.newToken
    ? await askNewToken(deps, list, say, formId, signal)
    : notAnswered('newTokenEndsOld', 'skipped (--skip-new-token): the test costs a token fetch');

  return {
    findings: finish(deps, request, started, {
      order,
      ...time,
      largestLimit,
      formIdOptional,
      newTokenEndsOld,
    }),
  };
}

type ListFn = (query: ListPageQuery, token?: string) => Promise<Listed>;

async function askFormId(
  list: ListFn,
  say: (line: string) => void,
  input: {
    formId: number;
    formTotal: number;
    limit: number;
    windowLimit: number;
    plan: TimePlan | undefined;
    region: ReturnType<typeof knownRegion>;
  },
): Promise<WeibanFindings['formIdOptional']> {
  const { formId, plan, region } = input;
  say('form_id: listing without it');
  const listed = await list({ limit: input.limit, offset: 0 });
  const evidence = [...listed.evidence];
  let corp: CorpListing;
  if (listed.ok) corp = { kind: 'page', page: listed.page };
  else if (listed.kind === 'stop') return formIdUnanswered(listed.detail, evidence);
  else if (listed.kind === 'refused' && listed.errcode !== undefined) {
    corp = { kind: 'refused', errcode: listed.errcode, errmsg: listed.errmsg ?? '' };
  } else if (listed.kind === 'malformed') corp = { kind: 'malformed', detail: listed.detail };
  else corp = { kind: 'failed', detail: listed.detail };

  let window: CorpWindow | undefined;
  if (corp.kind === 'page' && plan !== undefined && region !== undefined) {
    const [wide] = plan.windows;
    if (wide !== undefined) {
      say(`form_id: listing without it in the window [${wide.start}, ${wide.end}]`);
      const windowed = await list({
        startTime: wide.start,
        endTime: wide.end,
        limit: input.windowLimit,
        offset: 0,
      });
      const windowEvidence = [...windowed.evidence];
      if (windowed.ok) {
        const answer = { window: wide, page: windowed.page };
        windowEvidence.push(windowText(answer, formId));
        const outside = windowed.page.result.filter(
          (row) => row.submit_at < wide.start || row.submit_at > wide.end,
        ).length;
        if (outside > 0) windowEvidence.push(`${outside} row(s) outside the window came back`);
        window = judgeCorpWindow(
          consistentHypotheses({
            formId,
            region,
            scope: { kind: 'corp', total: corp.page.total },
            seen: [answer],
          }),
          windowEvidence,
        );
      } else {
        windowEvidence.push(`the window failed: ${windowed.detail}`);
        window = {
          onSubmitAt: 'undetermined',
          inclusive: 'undetermined',
          evidence: windowEvidence,
        };
      }
    }
  }
  return judgeFormId(formId, input.formTotal, corp, window, evidence);
}

async function askNewToken(
  deps: ProbeDeps,
  list: ListFn,
  say: (line: string) => void,
  formId: number,
  signal: AbortSignal | undefined,
): Promise<Learned> {
  const { wire } = deps;
  if (wire.left < NEW_TOKEN_CALLS) {
    return notAnswered(
      'newTokenEndsOld',
      `needs ${NEW_TOKEN_CALLS} calls and ${wire.left} are left (at most ${wire.maxCalls})`,
    );
  }
  say(
    'New token: trying the token in use, fetching another, then trying both (costs one token fetch)',
  );
  const query = { formId, limit: 1, offset: 0 };
  const evidence: string[] = [];
  const tryToken = async (token: string): Promise<TokenTry> => {
    const listed = await list(query, token);
    evidence.push(...listed.evidence);
    if (listed.ok) return 'ok';
    return listed.errcode === ERRCODE.badToken ? 'refused' : { failed: listed.detail };
  };
  const first = await deps.tokens.get(signal);
  const before = await tryToken(first);
  if (before !== 'ok') return judgeNewToken({ before, evidence });
  const from = wire.sent;
  let second: string;
  try {
    second = await deps.tokens.replace(first, signal);
  } catch (error: unknown) {
    if (isAbort(error) || signal?.aborted === true) throw error;
    evidence.push(...wire.since(from));
    const failed = error instanceof Error ? error.message : 'unknown failure';
    return judgeNewToken({ before, fetched: { failed }, evidence });
  }
  evidence.push(...wire.since(from));
  if (second === first) return judgeNewToken({ before, fetched: 'same token', evidence });
  if (wire.sent === from) {
    evidence.push('another caller of the corp had already stored a newer token in the table');
  }
  const oldAfter = await tryToken(first);
  const newAfter = await tryToken(second);
  return judgeNewToken({ before, fetched: 'ok', oldAfter, newAfter, evidence });
}

function formIdUnanswered(
  reason: string,
  evidence: readonly string[] = [],
): WeibanFindings['formIdOptional'] {
  return {
    ...notAnswered('formIdOptional', reason),
    evidence: [...evidence],
    formsSeen: [],
    windowOnSubmitAt: 'undetermined',
    windowInclusive: 'undetermined',
  };
}

const outOfCalls = (maxCalls: number): string => `no calls left (at most ${maxCalls})`;

function finish(
  deps: ProbeDeps,
  request: ProbeRequest,
  started: number,
  answers: Pick<
    WeibanFindings,
    | 'order'
    | 'timeFilter'
    | 'startInclusive'
    | 'endInclusive'
    | 'largestLimit'
    | 'formIdOptional'
    | 'newTokenEndsOld'
  >,
): WeibanFindings {
  const { wire, clock } = deps;
  const tokens = wire.calls
    .filter((call) => call.endpoint === 'access_token/get' && call.errcode === 0)
    .map((call) => ({
      call: `#${call.n} access_token/get → ${call.outcome}`,
      expiresIn: call.expiresIn,
    }));
  const expiresIn = judgeExpiresIn(tokens);
  const learnedAt = clock.now();
  return {
    version: 1,
    corpId: request.corpId,
    formId: request.formId,
    learnedAt,
    baseUrl: request.baseUrl,
    calls: wire.sent,
    maxCalls: wire.maxCalls,
    ...answers,
    expiresIn,
    tokenLifetime: judgeLifetime(expiresIn.seconds, learnedAt - started),
  };
}
