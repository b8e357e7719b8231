import { z } from 'zod';

export const FORMATS = ['standard', 'wecom', 'feishu', 'dingtalk'] as const;
export type Format = (typeof FORMATS)[number];
export type RobotFormat = Exclude<Format, 'standard'>;

export const isRobot = (format: Format): format is RobotFormat => format !== 'standard';

/** A `standard` endpoint's rate when the entry names none. */
export const STANDARD_DEFAULT_PER_MINUTE = 600;

/**
 * The robots' documented send limits (docs/receivers.md). A configured rate may be lower,
 * never higher.
 */
export const ROBOT_RATE: Readonly<Record<RobotFormat, { perMinute: number; perSecond?: number }>> =
  {
    // WeCom group robot: at most 20 messages a minute per robot.
    wecom: { perMinute: 20 },
    // Feishu custom bot: 100 a minute and 5 a second per bot.
    feishu: { perMinute: 100, perSecond: 5 },
    // DingTalk custom robot: at most 20 a minute; more blocks the robot for 10 minutes.
    dingtalk: { perMinute: 20 },
  };

/** One webhook endpoint as the deliver function knows it (the `WEBHOOKS` variable). */
export interface Endpoint {
  readonly name: string;
  readonly format: Format;
  /** Where to send, when it may be written in the template (a `standard` URL without a query). */
  readonly url?: string;
  /** The SSM SecureString holding the URL (robot URLs carry their key). */
  readonly urlParam?: string;
  /** The SSM SecureString holding the signing secret(s). */
  readonly secretParam?: string;
  readonly ratePerMinute: number;
  /** The per-second cap, for receivers that have one (Feishu). */
  readonly ratePerSecond?: number;
  /** The endpoint's queue: records are matched to the endpoint by their eventSourceARN. */
  readonly queueArn: string;
  readonly dlqUrl: string;
}

const NAME = /^[A-Za-z0-9]{1,40}$/;
const SQS_ARN = /^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/;
const PARAM = /^\/[\w.\-/]+$/;

const entrySchema = z
  .object({
    name: z.string({ error: 'is required' }).regex(NAME, 'must be 1-40 letters or digits'),
    format: z.enum(FORMATS, { error: `must be one of ${FORMATS.join(', ')}` }),
    url: z.string().optional(),
    urlParam: z.string().regex(PARAM, 'must be an SSM parameter name starting with /').optional(),
    secretParam: z
      .string()
      .regex(PARAM, 'must be an SSM parameter name starting with /')
      .optional(),
    ratePerMinute: z
      .number({ error: 'must be a whole number of at least 1' })
      .int('must be a whole number of at least 1')
      .min(1, 'must be a whole number of at least 1')
      .optional(),
    queueArn: z.string({ error: 'is required' }).regex(SQS_ARN, 'must be an SQS queue ARN'),
    dlqUrl: z.url({ protocol: /^https?$/, error: 'must be the dead-letter queue URL' }),
  })
  .strict();

type Entry = z.infer<typeof entrySchema>;

/** Where a problem with one entry is: the field, and what is wrong with it. */
interface Problem {
  readonly field: string;
  readonly message: string;
}

/**
 * Parses the `WEBHOOKS` JSON list. Throws an Error whose message names the entry (`#n (name)`)
 * and the field, so the cold start says exactly what to fix.
 */
export function parseEndpoints(raw: string, { allowLoopback }: { allowLoopback: boolean }) {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('must be a JSON list of endpoints');
  }
  if (!Array.isArray(value)) throw new Error('must be a JSON list of endpoints');
  const endpoints: Endpoint[] = [];
  value.forEach((item: unknown, index) => {
    const label = `#${index + 1} (${entryName(item)})`;
    const parsed = entrySchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || 'entry';
      throw new Error(`${label} ${field} ${issue?.message ?? 'is invalid'}`);
    }
    const problem = checkEntry(parsed.data, allowLoopback);
    if (problem !== undefined) throw new Error(`${label} ${problem.field} ${problem.message}`);
    if (endpoints.some((known) => known.name === parsed.data.name)) {
      throw new Error(`${label} name is used by an earlier entry`);
    }
    if (endpoints.some((known) => known.queueArn === parsed.data.queueArn)) {
      throw new Error(`${label} queueArn is used by an earlier entry`);
    }
    endpoints.push(toEndpoint(parsed.data));
  });
  return Object.freeze(endpoints.map((endpoint) => Object.freeze(endpoint)));
}

function checkEntry(entry: Entry, allowLoopback: boolean): Problem | undefined {
  if ((entry.url === undefined) === (entry.urlParam === undefined)) {
    return { field: 'url', message: 'or urlParam is required, and only one of them' };
  }
  if (entry.url !== undefined) {
    if (isRobot(entry.format)) {
      return {
        field: 'url',
        message: 'cannot hold a robot URL (it carries its key): use urlParam',
      };
    }
    const problem = checkUrl(entry.url, allowLoopback);
    if (problem !== undefined) return { field: 'url', message: problem };
    if (new URL(entry.url).search !== '') {
      return { field: 'url', message: 'must not carry a query string: use urlParam' };
    }
  }
  if (entry.format === 'standard' && entry.secretParam === undefined) {
    return { field: 'secretParam', message: 'is required for a standard endpoint' };
  }
  if (entry.format === 'wecom' && entry.secretParam !== undefined) {
    return { field: 'secretParam', message: 'is not allowed: WeCom robots have no signing' };
  }
  if (isRobot(entry.format) && entry.ratePerMinute !== undefined) {
    const limit = ROBOT_RATE[entry.format].perMinute;
    if (entry.ratePerMinute > limit) {
      return {
        field: 'ratePerMinute',
        message: `must not exceed ${limit}, the ${entry.format} robot's limit`,
      };
    }
  }
  return undefined;
}

/**
 * Why `raw` may not be sent to, or undefined when it may: https only, plain http only to a
 * loopback host and only when loopback is allowed (local runs and tests). No userinfo.
 */
export function checkUrl(raw: string, allowLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an https:// URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry user:password@';
  if (url.hash !== '') return 'must not carry a #fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && allowLoopback && isLoopbackHost(url.hostname)) return undefined;
  return allowLoopback
    ? 'must be an https:// URL (plain http only to a loopback host)'
    : 'must be an https:// URL';
}

const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

function toEndpoint(entry: Entry): Endpoint {
  const rate = isRobot(entry.format) ? ROBOT_RATE[entry.format] : undefined;
  return {
    name: entry.name,
    format: entry.format,
    ...(entry.url !== undefined && { url: entry.url }),
    ...(entry.urlParam !== undefined && { urlParam: entry.urlParam }),
    ...(entry.secretParam !== undefined && { secretParam: entry.secretParam }),
    ratePerMinute: entry.ratePerMinute ?? rate?.perMinute ?? STANDARD_DEFAULT_PER_MINUTE,
    ...(rate?.perSecond !== undefined && { ratePerSecond: rate.perSecond }),
    queueArn: entry.queueArn,
    dlqUrl: entry.dlqUrl,
  };
}

function entryName(item: unknown): string {
  if (typeof item === 'object' && item !== null && 'name' in item) {
    if (typeof item.name === 'string' && item.name !== '') return item.name.slice(0, 40);
  }
  return 'unnamed';
}
