import type { RobotFormat } from '../endpoints.js';
import type { Lead } from './lead.js';

/** A robot message before signing: the JSON object the robot's webhook takes. */
export type Payload = Readonly<Record<string, unknown>>;

/** What a robot's HTTP-200 answer body says (docs/receivers.md, per robot). */
export type RobotVerdict =
  | { readonly kind: 'ok' }
  /** The robot's own rate limit: send nothing to it for `pauseMs`, then retry. */
  | { readonly kind: 'throttled'; readonly code: number; readonly pauseMs: number }
  /** An invalid or removed key, a signature, keyword or IP check: retrying cannot help. */
  | { readonly kind: 'refused'; readonly code: number; readonly reason: string }
  /** A code the docs do not explain, or no code at all: retried on the schedule. */
  | { readonly kind: 'unknown'; readonly code?: number; readonly reason: string };

/** One robot's message format, size limit, signing and answer codes. */
export interface RobotDialect {
  readonly format: RobotFormat;
  /** A message for one submission, showing its first `answersShown` answers. */
  single(lead: Lead, answersShown: number): Payload;
  /** One message listing several submissions, one line each. */
  digest(leads: readonly Lead[]): Payload;
  /** Whether the message is within the robot's documented size limit. */
  fits(payload: Payload): boolean;
  /** The URL and body to POST, signed when the robot has a secret. */
  request(payload: Payload, to: { url: string; secret?: string; nowMs: number }): RobotRequest;
  verdict(body: unknown): RobotVerdict;
}

export interface RobotRequest {
  readonly url: string;
  readonly body: string;
}

/** The numeric code field of a JSON answer, if it has one. */
export function codeOf(body: unknown, ...fields: readonly string[]): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  for (const field of fields) {
    const value: unknown = (body as Record<string, unknown>)[field];
    if (typeof value === 'number' && Number.isInteger(value)) return value;
  }
  return undefined;
}

/** Looks a code up in a robot's table of known codes. */
export function verdictFor(
  code: number | undefined,
  known: {
    throttle: readonly number[];
    pauseMs: number;
    refused: Readonly<Record<number, string>>;
  },
): RobotVerdict {
  if (code === undefined) return { kind: 'unknown', reason: 'the answer carries no code' };
  if (code === 0) return { kind: 'ok' };
  if (known.throttle.includes(code)) return { kind: 'throttled', code, pauseMs: known.pauseMs };
  const reason = known.refused[code];
  if (reason !== undefined) return { kind: 'refused', code, reason };
  return { kind: 'unknown', code, reason: `code ${code} is not documented` };
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
