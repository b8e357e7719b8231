import type { Redactor } from '../errors.js';
import type { HttpResult } from './http.js';
import type { RobotDialect } from './robots/dialect.js';
import { parseRetryAfter } from './schedule.js';

/** The answer bytes kept for the attempt log and the log line. */
export const ANSWER_PREVIEW_BYTES = 256;

/** What one attempt came to, for every event the message carried. */
export type Outcome =
  | { readonly kind: 'delivered'; readonly status: string; readonly code?: number }
  | {
      readonly kind: 'retry';
      readonly status: string;
      readonly code?: number;
      readonly reason: string;
      /** The receiver asked for this pause (Retry-After). */
      readonly retryAfterMs?: number;
      /** The robot's throttle: nothing more is sent to it for this long. */
      readonly pauseMs?: number;
    }
  | {
      readonly kind: 'permanent';
      readonly status: string;
      readonly code?: number;
      readonly reason: string;
    };

/**
 * Decides an attempt's outcome (docs/receivers.md): 2xx is delivered (for a robot, only with
 * code 0); a timeout, a network error, 408, 429 and 5xx are retried; 3xx (never followed),
 * 410 and every other 4xx are permanent. A robot's HTTP-200 code decides by its own table.
 */
export function classify(
  result: HttpResult,
  { dialect, nowMs }: { dialect?: RobotDialect; nowMs: number },
): Outcome {
  if (result.kind === 'failure') {
    const status = result.failure;
    return result.failure === 'refused'
      ? { kind: 'permanent', status, reason: result.detail }
      : { kind: 'retry', status, reason: result.detail };
  }
  const code = result.status;
  const status = String(code);
  if (code >= 200 && code < 300)
    return dialect === undefined ? delivered(status) : robot(result, dialect);
  if (code >= 300 && code < 400) {
    return {
      kind: 'permanent',
      status,
      reason: `redirected (${code}) to ${locationHost(result.location)}; redirects are not followed`,
    };
  }
  if (code === 429) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs);
    return {
      kind: 'retry',
      status,
      reason: 'rate limited by the receiver (429)',
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }
  if (code === 408) return { kind: 'retry', status, reason: 'the receiver timed out (408)' };
  if (code >= 500) return { kind: 'retry', status, reason: `the receiver failed (${code})` };
  if (code === 410) return { kind: 'permanent', status, reason: 'the receiver is gone (410)' };
  return { kind: 'permanent', status, reason: `the receiver refused the delivery (${code})` };
}

const delivered = (status: string): Outcome => ({ kind: 'delivered', status });

function robot(result: Extract<HttpResult, { kind: 'answer' }>, dialect: RobotDialect): Outcome {
  const status = String(result.status);
  const verdict = dialect.verdict(parseJson(result.body.toString('utf8')));
  switch (verdict.kind) {
    case 'ok':
      return { kind: 'delivered', status, code: 0 };
    case 'throttled':
      return {
        kind: 'retry',
        status,
        code: verdict.code,
        reason: `the robot is throttling (${verdict.code})`,
        pauseMs: verdict.pauseMs,
      };
    case 'refused':
      return { kind: 'permanent', status, code: verdict.code, reason: verdict.reason };
    case 'unknown':
      return {
        kind: 'retry',
        status,
        ...(verdict.code !== undefined && { code: verdict.code }),
        reason: `the robot answered ${verdict.reason}`,
      };
  }
}

/** Only the host of a redirect target: its path and query may hold someone's credentials. */
function locationHost(location: string | undefined): string {
  if (location === undefined) return 'an unnamed location';
  try {
    return new URL(location, 'https://relative.invalid').host === 'relative.invalid'
      ? 'a relative location'
      : new URL(location).host;
  } catch {
    return 'an unreadable location';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // the robot answered something else; the verdict says so
  }
}

/** The first bytes of an answer as text, credentials masked, for the log. */
export function answerPreview(result: HttpResult, redactor: Redactor): string {
  if (result.kind === 'failure') return '';
  const head = result.body.subarray(0, ANSWER_PREVIEW_BYTES).toString('utf8');
  return redactor.redact(head.replace(/\uFFFD+$/, ''));
}
