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

  it('speeds up the quiet forms first when the budget is short, then the hot ones, on the pass grid', () => {
    // 50 forms at 5 s need 600 a minute of the 400 planned: 5 s for the hot ones would leave
    // the quiet ones at 15 s or slower; every form at 10 s fits.
    expect(cadence({ hot: 32, cold: 18 }, pace(500, 5_000))).toEqual({
      hotMs: 10_000,
      coldMs: 10_000,
      callsPerMinute: 300,
    });
    // 10 hot forms, 60 quiet ones at 5 s: quiet every 15 s, hot every 10 s with what is left.
    expect(cadence({ hot: 10, cold: 60 }, pace(500, 5_000))).toEqual({
      hotMs: 10_000,
      coldMs: 15_000,
      callsPerMinute: 300,
    });
    // 200 forms: 30 s for all is the fastest the quiet ones can go.
    expect(cadence({ hot: 50, cold: 150 }, pace(500))).toEqual({
      hotMs: 30_000,
      coldMs: 30_000,
      callsPerMinute: 400,
    });
  });

  it('keeps every form at least once a minute while that fits the budget', () => {
    const plan = cadence({ hot: 300, cold: 90 }, pace(500));

    expect(plan.coldMs).toBe(60_000);
    expect(plan.callsPerMinute).toBeLessThanOrEqual(400);
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
