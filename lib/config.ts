/*
 * The configuration contract in code (docs/guarantees.md#config): every variable's parsing,
 * bounds and message, read once at cold start. About 400 lines and still one thing: one schema,
 * whose messages sit next to the bounds they explain.
 */
import { z } from 'zod';
import { parseEndpoints, type Endpoint } from './webhooks/endpoints.js';

/** Weiban: fewer than 5 requests in processing per corp (10052; docs/weiban-api.md#limits). */
export const HARD_MAX_IN_FLIGHT = 4;
/**
 * Weiban: at most 600 requests per endpoint per minute (10053, then a 60 s block;
 * docs/weiban-api.md#limits). Kept 50 below: Weiban counts a request when it arrives and a
 * sender when it sends, callers' clocks differ a little, and 550 a minute for a whole hour
 * (33,000) stays under the hourly 36,000.
 */
export const HARD_MAX_PER_MINUTE = 550;
/** Weiban: at most 36,000 requests per endpoint per hour (10053, then a 60-minute block). */
export const HARD_MAX_PER_HOUR = 34_000;
/** Shorter, and a submission that shows up in Weiban a little late is never read (G1). */
export const MIN_LOOKBACK_SECONDS = 60;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable} ${detail}`);
  }
}

export type StartFrom = { mode: 'now' } | { mode: 'time'; at: number };

export interface Config {
  readonly weibanBaseUrl: string;
  readonly corpId: string;
  /** Where the secret comes from; the value itself is resolved lazily (see lib/secret.ts). */
  readonly secret:
    | { readonly kind: 'plain'; readonly value: string }
    | { readonly kind: 'ssm'; readonly name: string };
  readonly formIds: readonly number[];
  readonly tableName: string;
  readonly topicArn: string;
  readonly startFrom: StartFrom;
  readonly lookbackSeconds: number;
  readonly pageSize: number;
  readonly maxInFlight: number;
  readonly maxPerMinute: number;
  readonly maxPerHour: number;
  readonly retentionDays: number;
  /** Forms whose events carry the submitters' answers; `'all'` for `*`. */
  readonly answerFormIds: readonly number[] | 'all';
  readonly emitResubmissions: boolean;
  /** Below this much Lambda time left, no new page is started (docs/guarantees.md#g6). */
  readonly deadlineMarginMs: number;
  /** Token lifetime assumed when Weiban's answer carries no `expires_in`. */
  readonly tokenTtlFallbackSeconds: number;
  readonly requestTimeoutMs: number;
  /**
   * Polling modes the probe's stored findings may allow (lib/weiban/findings.ts): `auto` uses
   * them, `off` keeps the cautious mode. Larger pages than PAGE_SIZE…
   */
  readonly largerPages: 'auto' | 'off';
  /** …trusting Weiban's time window as exact… */
  readonly trustTimeFilter: 'auto' | 'off';
  /** …and one listing without form_id for every form of the corp. */
  readonly corpWideListing: 'auto' | 'off';
  /** The fastest a form is polled: passes run this often within each invocation. */
  readonly pollIntervalSeconds: number;
  /** How often the schedule invokes the function: passes stop just before the next is due. */
  readonly schedulePeriodSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A whole number in [min, max]; `why` says what the bounds protect, in the error. */
const integer = (min: number, max: number, fallback: number, why?: string) => {
  const message = `must be a whole number between ${min} and ${max}${why === undefined ? '' : `: ${why}`}`;
  return z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: message })
      .int(message)
      .min(min, message)
      .max(max, message)
      .default(fallback),
  );
};

const formId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A polling mode the probe's findings may allow: `auto` (use them) or `off`. */
const modeSetting = z.preprocess(
  blankToUndefined,
  z
    .enum(['auto', 'off'], {
      error: 'must be "auto" (use what weiban-forms probe learned) or "off"',
    })
    .default('auto'),
);

function parseFormIds(raw: string, ctx: z.RefinementCtx, what: string): number[] {
  const ids: number[] = [];
  for (const part of raw.split(',').map((piece) => piece.trim())) {
    if (part === '') continue;
    const parsed = /^\d+$/.test(part) ? formId.safeParse(part) : undefined;
    if (!parsed?.success) {
      ctx.addIssue({ code: 'custom', message: `must be ${what}; "${part}" is not a form id` });
      return ids;
    }
    if (!ids.includes(parsed.data)) ids.push(parsed.data);
  }
  return ids;
}

const formIdList = (what: string) =>
  z.string().transform((raw, ctx) => parseFormIds(raw, ctx, what));

const requiredText = (hint: string) =>
  z.preprocess(blankToUndefined, z.string({ error: `is required: ${hint}` }).trim());

/**
 * A point in time as an operator writes it: unix seconds, or an ISO-8601 date such as
 * 2026-11-01T00:00:00+08:00. Returns unix seconds, or undefined when `raw` is neither.
 */
export function parseInstant(raw: string): number | undefined {
  const value = raw.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(parsed)) {
    return Math.floor(parsed / 1000);
  }
  return undefined;
}

const startFrom = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('now')
    .transform((raw, ctx): StartFrom => {
      if (raw.trim().toLowerCase() === 'now') return { mode: 'now' };
      const at = parseInstant(raw);
      if (at !== undefined) return { mode: 'time', at };
      ctx.addIssue({
        code: 'custom',
        message:
          'must be "now", unix seconds, or an ISO-8601 date such as 2026-11-01T00:00:00+08:00',
      });
      return z.NEVER;
    }),
);

const schema = z
  .object({
    WEIBAN_BASE_URL: z.preprocess(
      blankToUndefined,
      z
        .url({
          protocol: /^https?$/,
          error: 'must be an http(s) URL such as https://open.weibanzhushou.com',
        })
        .default('https://open.weibanzhushou.com')
        .transform((url) => url.replace(/\/+$/, '')),
    ),
    WEIBAN_CORP_ID: requiredText('the corp id from the Weiban admin console'),
    WEIBAN_SECRET: z.preprocess(blankToUndefined, z.string().optional()),
    WEIBAN_SECRET_PARAM: z.preprocess(blankToUndefined, z.string().trim().optional()),
    // Seeds the form list in the table; `weiban-forms forms add` manages the rest.
    FORM_IDS: z.preprocess(
      blankToUndefined,
      z.string().default('').pipe(formIdList('comma-separated form ids, e.g. 842,901')),
    ),
    TABLE_NAME: requiredText('the DynamoDB table name'),
    TOPIC_ARN: z.preprocess(
      blankToUndefined,
      z
        .string({ error: 'is required: the SNS topic ARN' })
        .regex(/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$/, 'must be an SNS topic ARN'),
    ),
    START_FROM: startFrom,
    LOOKBACK_SECONDS: integer(
      MIN_LOOKBACK_SECONDS,
      86_400,
      600,
      'a shorter lookback misses a submission that shows up in Weiban a little late (G1, docs/guarantees.md#g1)',
    ),
    PAGE_SIZE: integer(1, 1000, 100),
    WEIBAN_MAX_IN_FLIGHT: integer(1, HARD_MAX_IN_FLIGHT, HARD_MAX_IN_FLIGHT),
    WEIBAN_MAX_PER_MINUTE: integer(
      1,
      HARD_MAX_PER_MINUTE,
      500,
      `Weiban blocks the corp above 600 a minute; ${HARD_MAX_PER_MINUTE} leaves room for requests Weiban counts a moment later than the sender did, and an hour at ${HARD_MAX_PER_MINUTE} a minute (${HARD_MAX_PER_MINUTE * 60}) stays under Weiban's 36,000`,
    ),
    WEIBAN_MAX_PER_HOUR: integer(
      1,
      HARD_MAX_PER_HOUR,
      30_000,
      'Weiban blocks the corp for 60 minutes above 36,000 an hour',
    ),
    RETENTION_DAYS: integer(1, 3650, 400),
    ANSWER_FORM_IDS: z.preprocess(
      blankToUndefined,
      z
        .string()
        .default('')
        .transform((raw, ctx): readonly number[] | 'all' =>
          raw.trim() === '*' ? 'all' : parseFormIds(raw, ctx, '"*" or comma-separated form ids'),
        ),
    ),
    EMIT_RESUBMISSIONS: z.preprocess(
      blankToUndefined,
      z
        .enum(['true', 'false'], { error: 'must be "true" or "false"' })
        .default('false')
        .transform((value) => value === 'true'),
    ),
    DEADLINE_MARGIN_MS: integer(1_000, 600_000, 10_000),
    WEIBAN_TOKEN_TTL_SECONDS: integer(600, 86_400 * 30, 7200),
    WEIBAN_REQUEST_TIMEOUT_MS: integer(1_000, 120_000, 10_000),
    WEIBAN_LARGER_PAGES: modeSetting,
    WEIBAN_TRUST_TIME_FILTER: modeSetting,
    WEIBAN_CORP_WIDE_LISTING: modeSetting,
    POLL_INTERVAL_SECONDS: integer(
      3,
      3_600,
      4,
      'the fastest a form is polled; the budget may make it slower for many forms',
    ),
    SCHEDULE_PERIOD_SECONDS: integer(
      60,
      86_400,
      60,
      'how often the schedule invokes the function (its rate), so passes end before the next',
    ),
  })
  .superRefine(requireSecret);

function requireSecret(
  env: { WEIBAN_SECRET?: string | undefined; WEIBAN_SECRET_PARAM?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (env.WEIBAN_SECRET === undefined && env.WEIBAN_SECRET_PARAM === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['WEIBAN_SECRET_PARAM'],
      message:
        'or WEIBAN_SECRET is required: the name of an SSM SecureString holding the Weiban secret (or the secret itself, for local use)',
    });
  }
}

// The same variables, rules and messages as the service's, for tools that only talk to Weiban.
const WEIBAN_VARIABLES = {
  WEIBAN_BASE_URL: true,
  WEIBAN_CORP_ID: true,
  WEIBAN_SECRET: true,
  WEIBAN_SECRET_PARAM: true,
  WEIBAN_MAX_IN_FLIGHT: true,
  WEIBAN_MAX_PER_MINUTE: true,
  WEIBAN_MAX_PER_HOUR: true,
  WEIBAN_TOKEN_TTL_SECONDS: true,
  WEIBAN_REQUEST_TIMEOUT_MS: true,
} as const;

const weibanSchema = z.object(schema.shape).pick(WEIBAN_VARIABLES).superRefine(requireSecret);

// What a backfill needs besides Weiban: how to page, and how to build and keep events.
const backfillSchema = z
  .object(schema.shape)
  .pick({
    ...WEIBAN_VARIABLES,
    PAGE_SIZE: true,
    ANSWER_FORM_IDS: true,
    EMIT_RESUBMISSIONS: true,
    RETENTION_DAYS: true,
  })
  .superRefine(requireSecret);

/** The Weiban part of Config: enough to obtain a token and read forms. */
export type WeibanConfig = Pick<
  Config,
  | 'weibanBaseUrl'
  | 'corpId'
  | 'secret'
  | 'maxInFlight'
  | 'maxPerMinute'
  | 'maxPerHour'
  | 'tokenTtlFallbackSeconds'
  | 'requestTimeoutMs'
>;

/**
 * Parses the environment into a frozen Config, or throws one ConfigError naming the first
 * bad variable. The only place in the service that reads configuration.
 */
export function loadConfig(env: Env = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error);
  const e = parsed.data;
  return Object.freeze({
    ...weibanPart(e),
    formIds: Object.freeze(e.FORM_IDS),
    tableName: e.TABLE_NAME,
    topicArn: e.TOPIC_ARN,
    startFrom: e.START_FROM,
    lookbackSeconds: e.LOOKBACK_SECONDS,
    pageSize: e.PAGE_SIZE,
    retentionDays: e.RETENTION_DAYS,
    answerFormIds: e.ANSWER_FORM_IDS === 'all' ? 'all' : Object.freeze(e.ANSWER_FORM_IDS),
    emitResubmissions: e.EMIT_RESUBMISSIONS,
    deadlineMarginMs: e.DEADLINE_MARGIN_MS,
    largerPages: e.WEIBAN_LARGER_PAGES,
    trustTimeFilter: e.WEIBAN_TRUST_TIME_FILTER,
    corpWideListing: e.WEIBAN_CORP_WIDE_LISTING,
    pollIntervalSeconds: e.POLL_INTERVAL_SECONDS,
    schedulePeriodSeconds: e.SCHEDULE_PERIOD_SECONDS,
  } satisfies Config);
}

/**
 * Parses only the Weiban variables (base URL, corp, secret, limits), with the same rules and
 * messages as loadConfig. For operator tools that need no table, topic or form list.
 */
export function loadWeibanConfig(env: Env = process.env): WeibanConfig {
  const parsed = weibanSchema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error);
  return Object.freeze(weibanPart(parsed.data));
}

/** What a backfill reads beyond Weiban's variables: paging, events, retention. */
export type BackfillConfig = WeibanConfig &
  Pick<Config, 'pageSize' | 'answerFormIds' | 'emitResubmissions' | 'retentionDays'>;

/**
 * Parses the variables a backfill uses, with the same rules and messages as loadConfig; no form
 * list, table or topic (the CLI's target gives those).
 */
export function loadBackfillConfig(env: Env = process.env): BackfillConfig {
  const parsed = backfillSchema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error);
  const e = parsed.data;
  return Object.freeze({
    ...weibanPart(e),
    pageSize: e.PAGE_SIZE,
    answerFormIds: e.ANSWER_FORM_IDS === 'all' ? 'all' : Object.freeze(e.ANSWER_FORM_IDS),
    emitResubmissions: e.EMIT_RESUBMISSIONS,
    retentionDays: e.RETENTION_DAYS,
  });
}

function configError(error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  const variable = typeof issue?.path[0] === 'string' ? issue.path[0] : 'configuration';
  return new ConfigError(variable, issue?.message ?? 'is invalid');
}

function weibanPart(e: z.infer<typeof weibanSchema>): WeibanConfig {
  return {
    weibanBaseUrl: e.WEIBAN_BASE_URL,
    corpId: e.WEIBAN_CORP_ID,
    secret:
      e.WEIBAN_SECRET !== undefined
        ? { kind: 'plain', value: e.WEIBAN_SECRET }
        : { kind: 'ssm', name: e.WEIBAN_SECRET_PARAM ?? '' },
    maxInFlight: e.WEIBAN_MAX_IN_FLIGHT,
    maxPerMinute: e.WEIBAN_MAX_PER_MINUTE,
    maxPerHour: e.WEIBAN_MAX_PER_HOUR,
    tokenTtlFallbackSeconds: e.WEIBAN_TOKEN_TTL_SECONDS,
    requestTimeoutMs: e.WEIBAN_REQUEST_TIMEOUT_MS,
  };
}

/** What the deliver function needs: the table and the webhook endpoints. */
export interface DeliverConfig {
  readonly tableName: string;
  readonly webhooks: readonly Endpoint[];
  /** Plain http to a loopback host is allowed (local runs and tests only; never in the template). */
  readonly allowLoopback: boolean;
}

const deliverSchema = z.object({
  TABLE_NAME: requiredText('the DynamoDB table name'),
  WEBHOOK_ALLOW_LOOPBACK: z.preprocess(
    blankToUndefined,
    z
      .enum(['true', 'false'], { error: 'must be "true" or "false"' })
      .default('false')
      .transform((value) => value === 'true'),
  ),
  WEBHOOKS: z.preprocess(blankToUndefined, z.string().default('[]')),
});

/**
 * Parses the deliver function's environment, or throws one ConfigError naming the variable
 * (and, for WEBHOOKS, the entry and its field). The deliver function's only reader of settings.
 */
export function loadDeliverConfig(env: Env = process.env): DeliverConfig {
  const parsed = deliverSchema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error);
  const e = parsed.data;
  let webhooks: readonly Endpoint[];
  try {
    webhooks = parseEndpoints(e.WEBHOOKS, { allowLoopback: e.WEBHOOK_ALLOW_LOOPBACK });
  } catch (error: unknown) {
    throw new ConfigError('WEBHOOKS', error instanceof Error ? error.message : 'is invalid');
  }
  return Object.freeze({
    tableName: e.TABLE_NAME,
    webhooks,
    allowLoopback: e.WEBHOOK_ALLOW_LOOPBACK,
  });
}
