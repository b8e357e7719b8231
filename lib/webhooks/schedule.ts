const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * When each attempt is made, counted from the failure before it (like Svix's schedule):
 * attempt 1 at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h. After the 8th fails,
 * the message goes to the dead-letter queue. Every delay fits SQS's 12 h visibility limit.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length;
const SHORTEST_MS = 5 * SECOND;
const LONGEST_MS = 10 * HOUR;

/** SQS: a message's visibility timeout is at most 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * How long to wait before the next attempt, once `attemptsMade` attempts have failed; undefined
 * when none is left. A receiver's own wish (Retry-After, a robot's throttle pause) is honoured
 * within the schedule's range, 5 s to 10 h.
 */
export function nextDelayMs(
  attemptsMade: number,
  { retryAfterMs, pauseMs }: { retryAfterMs?: number; pauseMs?: number } = {},
): number | undefined {
  const scheduled = RETRY_SCHEDULE_MS[attemptsMade];
  if (scheduled === undefined || attemptsMade < 1) return undefined;
  if (retryAfterMs !== undefined) return clampToSchedule(retryAfterMs);
  return Math.max(scheduled, pauseMs ?? 0);
}

export const clampToSchedule = (ms: number): number =>
  Math.min(LONGEST_MS, Math.max(SHORTEST_MS, ms));

/**
 * A Retry-After header (RFC 9110: delay-seconds or an HTTP-date) as milliseconds from `nowMs`,
 * or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * SECOND;
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A delay as an SQS visibility timeout: whole seconds, rounded up, within SQS's range. */
export const toVisibilitySeconds = (ms: number): number =>
  Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(ms / SECOND)));
