import { describe, expect, it } from 'vitest';
import { fitMargin, MIN_MARGIN_MS } from '../../lib/deadline.js';

describe('fitMargin', () => {
  it.each([
    ['a 60 s function keeps the configured 10 s', 10_000, 60_000, 10_000],
    ['a 5 s function keeps a quarter of its time', 10_000, 5_000, 1_250],
    ['a margin raised past the timeout is cut to a quarter', 120_000, 60_000, 15_000],
    ['a nearly spent invocation still keeps the least margin', 10_000, 1_500, MIN_MARGIN_MS],
  ])('%s', (_name, configured, remaining, expected) => {
    expect(fitMargin(configured, remaining)).toBe(expected);
  });
});
