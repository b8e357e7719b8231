import { z } from 'zod';

/**
 * What `weiban-forms probe` learned of the facts Weiban's documentation leaves open
 * (docs/weiban-api.md#unknowns), and the polling modes that evidence allows. Pure: no I/O.
 */

/** How a claim about Weiban fared against its real answers. */
export type Verdict = 'confirmed' | 'refuted' | 'undetermined';

/** One question's answer: the claim tested, the verdict, and the calls that decided it. */
export interface Learned {
  /** The claim tested, e.g. "start_time is inclusive: a row at start_time is listed". */
  readonly claim: string;
  readonly verdict: Verdict;
  /** One sentence: what was learned, or why it could not be. */
  readonly summary: string;
  /** The calls that decided it and what they returned; never a token or a secret. */
  readonly evidence: readonly string[];
}

/** The largest `limit` the search asks for: PAGE_SIZE's own largest value (lib/config.ts). */
export const LIMIT_SEARCH_BOUND = 1000;

/** The token lifetime client code assumes (docs/weiban-api.md#token). */
export const ASSUMED_TOKEN_TTL_S = 7200;

/** Everything one probe learned, as saved in the table (`CORP#<corp>/FINDINGS`). */
export interface WeibanFindings {
  readonly version: 1;
  readonly corpId: string;
  /** The form the probe read. */
  readonly formId: number;
  /** When the probe ended, epoch ms. */
  readonly learnedAt: number;
  /** The Weiban origin asked, e.g. https://open.weibanzhushou.com. */
  readonly baseUrl: string;
  /** Weiban requests the probe made (token fetches included), and the most it could make. */
  readonly calls: number;
  readonly maxCalls: number;
  /** The sort order of `form/user/list`. */
  readonly order: Learned & { readonly observed?: 'desc' | 'asc' | 'unordered' };
  /** Whether start_time/end_time filter on submit_at at all. */
  readonly timeFilter: Learned;
  readonly startInclusive: Learned;
  readonly endInclusive: Learned;
  readonly largestLimit: Learned & {
    /** The largest `limit` Weiban answered with errcode 0. */
    readonly accepted?: number;
    /** The smallest it refused with 21901. */
    readonly refused?: number;
    /** The search looked no further than this. */
    readonly searchedUpTo: number;
    /** Fewer rows came back than asked while `total` said more exist: at most this many are served. */
    readonly servedAtMost?: number;
  };
  readonly formIdOptional: Learned & {
    /** The forms whose rows the listing without form_id returned. */
    readonly formsSeen: readonly number[];
    /** Whether those rows carried every documented field (undefined: no rows were seen). */
    readonly documentedFields?: boolean;
    /** The same listing with a time window: whether it filtered on submit_at… */
    readonly windowOnSubmitAt: Verdict;
    /** …and whether both its bounds proved inclusive. */
    readonly windowInclusive: Verdict;
  };
  /** What a fresh token's `expires_in` said. */
  readonly expiresIn: Learned & { readonly seconds?: number };
  /** Whether a token really works for as long as `expires_in` says. */
  readonly tokenLifetime: Learned;
  readonly newTokenEndsOld: Learned;
}

/** The questions, in the order the probe's table shows them, with a short label each. */
export const QUESTIONS = [
  ['order', 'sort order'],
  ['timeFilter', 'time filter on submit_at'],
  ['startInclusive', 'start_time inclusive'],
  ['endInclusive', 'end_time inclusive'],
  ['largestLimit', 'largest limit'],
  ['formIdOptional', 'form_id optional'],
  ['expiresIn', 'expires_in'],
  ['tokenLifetime', 'token lifetime'],
  ['newTokenEndsOld', 'new token ends the old'],
] as const satisfies readonly (readonly [keyof WeibanFindings, string])[];

export type QuestionKey = (typeof QUESTIONS)[number][0];

/** An operator setting for one mode: `auto` uses the findings, `off` never uses the mode. */
export type ModeSetting = 'auto' | 'off';

/** The settings pollingModes reads; lib/config.ts's Config has them all. */
export interface ModeSettings {
  /** PAGE_SIZE: the page size without findings, and the smallest a larger page may be. */
  readonly pageSize: number;
  /** WEIBAN_LARGER_PAGES */
  readonly largerPages: ModeSetting;
  /** WEIBAN_TRUST_TIME_FILTER */
  readonly trustTimeFilter: ModeSetting;
  /** WEIBAN_CORP_WIDE_LISTING */
  readonly corpWideListing: ModeSetting;
}

/** How the poller may read Weiban, given the evidence. */
export interface PollingModes {
  /** `limit` per `form/user/list` page. */
  readonly pageSize: number;
  /**
   * Weiban's time window is exact on submit_at, both bounds inclusive (for the listing mode
   * chosen): start_time need not be sent a second early, and rows need no filtering again.
   */
  readonly exactTimeFilter: boolean;
  /**
   * The evidence allows one listing without form_id for every form of the corp: the passes
   * between sweeps list the forms together, and give a form its own listing only when that one
   * shows it something new (lib/poll/corp-scan.ts, docs/guarantees.md#corp-wide). That listing
   * is always filtered again by submit_at: `exactTimeFilter` is about the listing of one form.
   */
  readonly corpWideListing: boolean;
  /** Why each mode is what it is, one sentence each, for logs and the operator. */
  readonly reasons: {
    readonly pageSize: string;
    readonly exactTimeFilter: string;
    readonly corpWideListing: string;
  };
}

/**
 * The cheapest modes the findings allow, never one they contradict: without findings, or
 * with a setting `off`, the cautious mode (PAGE_SIZE, re-filtering, one listing per form).
 */
export function pollingModes(
  findings: WeibanFindings | undefined,
  settings: ModeSettings,
): PollingModes {
  const pageSize = pageSizeMode(findings, settings);
  const corpWide = corpWideMode(findings, settings);
  const exact = exactMode(findings, settings);
  return {
    pageSize: pageSize.size,
    exactTimeFilter: exact.on,
    corpWideListing: corpWide.on,
    reasons: {
      pageSize: pageSize.reason,
      exactTimeFilter: exact.reason,
      corpWideListing: corpWide.reason,
    },
  };
}

const NO_FINDINGS = 'no probe findings are stored (weiban-forms probe --save)';

function pageSizeMode(
  findings: WeibanFindings | undefined,
  { pageSize, largerPages }: ModeSettings,
): { size: number; reason: string } {
  const keep = (why: string) => ({ size: pageSize, reason: `PAGE_SIZE ${pageSize}: ${why}` });
  if (largerPages === 'off') return keep('WEIBAN_LARGER_PAGES is off');
  if (findings === undefined) return keep(NO_FINDINGS);
  const { accepted, refused, servedAtMost } = findings.largestLimit;
  if (refused !== undefined && refused <= pageSize) {
    return keep(
      `Weiban refused limit ${refused} with 21901${accepted === undefined ? '' : ` and accepted ${accepted}`}: lower PAGE_SIZE`,
    );
  }
  if (accepted === undefined) return keep('the probe saw no limit accepted');
  const usable = Math.min(accepted, servedAtMost ?? accepted, LIMIT_SEARCH_BOUND);
  if (usable <= pageSize) {
    return keep(`the largest limit the probe saw served is ${usable}`);
  }
  return {
    size: usable,
    reason: `limit ${usable}: Weiban accepted limit ${accepted}${servedAtMost === undefined ? '' : ` and served up to ${servedAtMost} rows`} (${learnedFrom(findings)})`,
  };
}

function corpWideMode(
  findings: WeibanFindings | undefined,
  { corpWideListing }: ModeSettings,
): { on: boolean; reason: string } {
  const off = (why: string) => ({ on: false, reason: `one listing per form: ${why}` });
  if (corpWideListing === 'off') return off('WEIBAN_CORP_WIDE_LISTING is off');
  if (findings === undefined) return off(NO_FINDINGS);
  const f = findings.formIdOptional;
  if (f.verdict !== 'confirmed') return off(`form_id optional is ${f.verdict}`);
  if (f.formsSeen.length < 2) return off('the listing without form_id showed one form only');
  if (f.documentedFields !== true) {
    return off('the listing without form_id lacked documented fields');
  }
  if (f.windowOnSubmitAt !== 'confirmed') {
    return off(`its time window on submit_at is ${f.windowOnSubmitAt}`);
  }
  return {
    on: true,
    reason: `one listing for every form between sweeps: without form_id Weiban listed forms ${f.formsSeen.join(', ')} and kept to the time window (${learnedFrom(findings)})`,
  };
}

/** The listing of one form (the corp-wide listing is always filtered again). */
function exactMode(
  findings: WeibanFindings | undefined,
  { trustTimeFilter }: ModeSettings,
): { on: boolean; reason: string } {
  const off = (why: string) => ({
    on: false,
    reason: `start_time a second early and rows filtered again: ${why}`,
  });
  if (trustTimeFilter === 'off') return off('WEIBAN_TRUST_TIME_FILTER is off');
  if (findings === undefined) return off(NO_FINDINGS);
  const parts: [string, Verdict][] = [
    ['the time filter on submit_at', findings.timeFilter.verdict],
    ['start_time inclusive', findings.startInclusive.verdict],
    ['end_time inclusive', findings.endInclusive.verdict],
  ];
  const unproven = parts.find(([, verdict]) => verdict !== 'confirmed');
  if (unproven !== undefined) return off(`${unproven[0]} is ${unproven[1]}`);
  return {
    on: true,
    reason: `the window as sent: both bounds proved inclusive on submit_at (${learnedFrom(findings)})`,
  };
}

const learnedFrom = (findings: WeibanFindings): string =>
  `probe of form ${findings.formId} at ${new Date(findings.learnedAt).toISOString()}`;

const verdictSchema = z.enum(['confirmed', 'refuted', 'undetermined']);
const learnedShape = {
  claim: z.string(),
  verdict: verdictSchema,
  summary: z.string(),
  evidence: z.array(z.string()),
};
const learned = z.object(learnedShape);
const count = z.number().int().positive();

/** Findings as read back from the table; anything else is refused, not guessed at. */
export const findingsSchema: z.ZodType<WeibanFindings> = z.object({
  version: z.literal(1),
  corpId: z.string(),
  formId: count,
  learnedAt: z.number().int().nonnegative(),
  baseUrl: z.string(),
  calls: z.number().int().nonnegative(),
  maxCalls: count,
  order: z.object({ ...learnedShape, observed: z.enum(['desc', 'asc', 'unordered']).optional() }),
  timeFilter: learned,
  startInclusive: learned,
  endInclusive: learned,
  largestLimit: z.object({
    ...learnedShape,
    accepted: count.optional(),
    refused: count.optional(),
    searchedUpTo: count,
    servedAtMost: z.number().int().nonnegative().optional(),
  }),
  formIdOptional: z.object({
    ...learnedShape,
    formsSeen: z.array(count),
    documentedFields: z.boolean().optional(),
    windowOnSubmitAt: verdictSchema,
    windowInclusive: verdictSchema,
  }),
  expiresIn: z.object({ ...learnedShape, seconds: count.optional() }),
  tokenLifetime: learned,
  newTokenEndsOld: learned,
});
