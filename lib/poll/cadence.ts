/**
 * How often each form is polled, so that detection is as fast as Weiban's budget allows for the
 * forms there are (docs/guarantees.md#g4, #g10). Pure: counts and times are passed in.
 */

const MINUTE_MS = 60_000;
/** A form that found new submitters this recently polls at the fastest pace. */
export const HOT_FOR_MS = 10 * MINUTE_MS;
/** The share of WEIBAN_MAX_PER_MINUTE the passes plan to use: the rest is for bursts and backfills. */
export const PLANNED_SHARE = 0.8;
/** Every form reads its whole lookback at least this often (late arrivals, G1). */
export const SWEEP_EVERY_MS = MINUTE_MS;
/** Between sweeps, a pass reads this far behind the cursor: what Weiban may list a moment late. */
export const OVERLAP_SECONDS = 30;

export interface Cadence {
  /** Between two polls of a form with recent submissions. */
  readonly hotMs: number;
  /** Between two polls of any other form; at most a minute unless the budget cannot allow it. */
  readonly coldMs: number;
  /** Weiban calls a minute this plans for (one per form poll): within the planned share. */
  readonly callsPerMinute: number;
}

/**
 * The fastest pace the budget allows: every form at least once a minute, the forms with recent
 * submissions as often as the rest of the budget lets them (never faster than `minMs`), and
 * the other forms faster too when budget is left. When even once a minute is too much for the
 * forms there are, all of them share the budget equally (and some wait past a minute: the lag
 * alarm says so).
 */
export function cadence(
  counts: { readonly hot: number; readonly cold: number },
  { minMs, perMinute }: { readonly minMs: number; readonly perMinute: number },
): Cadence {
  const budget = Math.max(1, Math.floor(perMinute * PLANNED_SHARE));
  const { hot, cold } = counts;
  const forms = hot + cold;
  if (forms === 0) return { hotMs: minMs, coldMs: minMs, callsPerMinute: 0 };
  // Once a minute for every form does not fit: everyone at the same, slower pace.
  if (forms > budget) {
    const everyMs = Math.ceil((MINUTE_MS * forms) / budget);
    return { hotMs: everyMs, coldMs: everyMs, callsPerMinute: budget };
  }
  const fastest = Math.max(1, minMs);
  const perMinuteOf = (count: number, everyMs: number) => (count * MINUTE_MS) / everyMs;
  const hotMs =
    hot === 0 ? fastest : Math.max(fastest, Math.ceil((MINUTE_MS * hot) / (budget - cold)));
  const left = budget - perMinuteOf(hot, hotMs);
  const coldMs =
    cold === 0
      ? fastest
      : Math.min(MINUTE_MS, Math.max(fastest, Math.ceil((MINUTE_MS * cold) / left)));
  return {
    hotMs,
    coldMs,
    callsPerMinute: Math.round(perMinuteOf(hot, hotMs) + perMinuteOf(cold, coldMs)),
  };
}

/** Whether a form polled at `polledAt` is due at `now`, given its pace and the pass period. */
export function isDue(
  polledAt: number | undefined,
  everyMs: number,
  now: number,
  passMs: number,
): boolean {
  // Half a pass early counts as on time: passes come at their own period, not the form's.
  return polledAt === undefined || now - polledAt >= everyMs - passMs / 2;
}

/** How far behind its cursor a form's window starts this pass: its whole lookback, or the overlap. */
export function lookbackFor(
  sweptAt: number | undefined,
  now: number,
  lookbackSeconds: number,
): { readonly seconds: number; readonly sweep: boolean } {
  const sweep = sweptAt === undefined || now - sweptAt >= SWEEP_EVERY_MS;
  return sweep
    ? { seconds: lookbackSeconds, sweep }
    : { seconds: Math.min(lookbackSeconds, OVERLAP_SECONDS), sweep };
}
