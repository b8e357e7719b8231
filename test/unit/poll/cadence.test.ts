import { describe, expect, it } from 'vitest';
import { cadence, isDue, lookbackFor, OVERLAP_SECONDS } from '../../../lib/poll/cadence.js';

const pace = (perMinute: number, minMs = 10_000) => ({ minMs, perMinute });

describe('cadence: how often each form is polled within the budget', () => {
  it('polls a few forms at the pass interval, hot or cold, within the planned share', () => {
    expect(cadence({ hot: 2, cold: 8 }, pace(500))).toEqual({
      hotMs: 10_000,
      coldMs: 10_000,
      callsPerMinute: 60,
    });
  });

  it('gives hot forms what once a minute for the cold ones leaves, up to the interval', () => {
    // 400 planned calls a minute: 150 cold forms once a minute leave 250 for 50 hot ones.
    expect(cadence({ hot: 50, cold: 150 }, pace(500))).toEqual({
      hotMs: 12_000,
      coldMs: 60_000,
      callsPerMinute: 400,
    });
    // Fewer cold forms: the hot ones reach the interval, the cold ones share what is left.
    expect(cadence({ hot: 50, cold: 60 }, pace(500))).toEqual({
      hotMs: 10_000,
      coldMs: 36_000,
      callsPerMinute: 400,
    });
  });

  it('never plans more than 80 % of the budget, leaving a fifth for bursts and backfills', () => {
    for (const [hot, cold] of [
      [0, 1],
      [1, 0],
      [10, 0],
      [10, 40],
      [60, 100],
      [0, 399],
      [200, 200],
    ] as const) {
      const plan = cadence({ hot, cold }, pace(500, 5_000));
      const calls = (hot * 60_000) / plan.hotMs + (cold * 60_000) / plan.coldMs;
      expect(calls, `${hot} hot, ${cold} cold`).toBeLessThanOrEqual(400 + 1e-9);
      expect(plan.coldMs, `${hot} hot, ${cold} cold`).toBeLessThanOrEqual(60_000);
    }
  });

  it('shares the budget equally when even once a minute is too much for the forms there are', () => {
    const plan = cadence({ hot: 100, cold: 700 }, pace(500));

    expect(plan).toEqual({ hotMs: 120_000, coldMs: 120_000, callsPerMinute: 400 });
  });

  it("counts a form due a moment early (a pass's drift), and a never-polled form at once", () => {
    expect(isDue(undefined, 60_000, 0, 10_000)).toBe(true);
    expect(isDue(0, 60_000, 58_999, 10_000)).toBe(false);
    expect(isDue(0, 60_000, 59_000, 10_000)).toBe(true);
    expect(isDue(0, 5_000, 4_000, 5_000)).toBe(true);
  });

  it('reads the whole lookback once a minute and the short overlap in between', () => {
    expect(lookbackFor(undefined, 0, 600)).toEqual({ seconds: 600, sweep: true });
    expect(lookbackFor(0, 30_000, 600)).toEqual({ seconds: OVERLAP_SECONDS, sweep: false });
    expect(lookbackFor(0, 60_000, 600)).toEqual({ seconds: 600, sweep: true });
    expect(lookbackFor(0, 30_000, 20)).toEqual({ seconds: 20, sweep: false });
  });
});
