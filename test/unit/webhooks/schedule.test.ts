import { describe, expect, it } from 'vitest';
import {
  MAX_ATTEMPTS,
  nextDelayMs,
  parseRetryAfter,
  RETRY_SCHEDULE_MS,
  toVisibilitySeconds,
} from '../../../lib/webhooks/schedule.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

describe('the retry schedule', () => {
  it('tries at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h', () => {
    expect(RETRY_SCHEDULE_MS).toEqual([0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H]);
    expect(MAX_ATTEMPTS).toBe(8);
    expect([1, 2, 3, 4, 5, 6, 7].map((made) => nextDelayMs(made))).toEqual(
      RETRY_SCHEDULE_MS.slice(1),
    );
  });

  it('leaves nothing after the eighth attempt: the message goes to the DLQ', () => {
    expect(nextDelayMs(8)).toBeUndefined();
    expect(nextDelayMs(9)).toBeUndefined();
  });

  it('honours Retry-After within the schedule range, 5 s to 10 h', () => {
    expect(nextDelayMs(3, { retryAfterMs: 90 * S })).toBe(90 * S);
    expect(nextDelayMs(1, { retryAfterMs: 0 })).toBe(5 * S);
    expect(nextDelayMs(1, { retryAfterMs: 48 * H })).toBe(10 * H);
  });

  it('waits out a robot throttle pause when it is longer than the scheduled delay', () => {
    expect(nextDelayMs(1, { pauseMs: 10 * M })).toBe(10 * M);
    expect(nextDelayMs(4, { pauseMs: 10 * M })).toBe(2 * H);
  });

  it.each([
    ['30', 30 * S],
    [' 5 ', 5 * S],
    ['Tue, 01 Sep 2026 02:24:00 GMT', 60 * S],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads Retry-After %j', (value, ms) => {
    expect(parseRetryAfter(value, Date.UTC(2026, 8, 1, 2, 23))).toBe(ms);
  });

  it('turns a delay into a visibility timeout SQS accepts', () => {
    expect(toVisibilitySeconds(4_001)).toBe(5);
    expect(toVisibilitySeconds(-5)).toBe(0);
    expect(toVisibilitySeconds(13 * H)).toBe(43_200);
  });
});
