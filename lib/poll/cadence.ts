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

/** When the budget cannot poll every form at the interval, a hot form is polled this much more often. */
export const HOT_RATIO = 2;

/**
 * The fastest pace the budget allows. When every form fits at the pass interval (`minMs`), all
 * of them are polled at it. When not, the quiet forms are polled as often as the budget allows
 * (at least once a minute), and the hot ones (with recent submissions) faster with what is left,
 * up to HOT_RATIO times as often. Why not hot forms first at the interval and the rest at once a
 * minute: a submission to a quiet form would then wait up to a minute, and the slowest
 * deliveries are what a user notices (the p95). When even once a minute is too much for the
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
  const fastest = Math.max(0, minMs);
  if (forms === 0) return { hotMs: fastest, coldMs: fastest, callsPerMinute: 0 };
  const perMinuteOf = (count: number, everyMs: number) =>
    count === 0 ? 0 : (count * MINUTE_MS) / Math.max(1, everyMs);
  const plan = (hotMs: number, coldMs: number): Cadence => ({
    hotMs,
    coldMs,
    callsPerMinute: Math.round(perMinuteOf(hot, hotMs) + perMinuteOf(cold, coldMs)),
  });
  // Once a minute for every form does not fit: everyone at the same, slower pace.
  if (forms > budget) {
    const everyMs = Math.ceil((MINUTE_MS * forms) / budget);
    return { hotMs: everyMs, coldMs: everyMs, callsPerMinute: budget };
  }
  if (perMinuteOf(forms, fastest) <= budget) return plan(fastest, fastest);
  const fits = (hotMs: number, coldMs: number) =>
    perMinuteOf(hot, hotMs) + perMinuteOf(cold, coldMs) <= budget;
  // Forms are polled only by passes, so a pace between two multiples of the pass interval
  // really is the longer one: the paces are chosen on that grid.
  const step = Math.max(1_000, fastest);
  // The quiet forms as fast as the budget allows, then the hot ones faster with what is left,
  // never more than HOT_RATIO times as often.
  for (let coldMs = step; coldMs <= MINUTE_MS; coldMs += step) {
    const fastestHot = Math.max(step, Math.ceil(coldMs / HOT_RATIO / step) * step);
    for (let hotMs = fastestHot; hotMs <= coldMs; hotMs += step) {
      if (fits(hotMs, coldMs)) return plan(hotMs, coldMs);
    }
  }
  return plan(MINUTE_MS, MINUTE_MS);
}

/**
 * Whether the budget carries the corp-wide listing with every form at the pass interval
 * (docs/guarantees.md#corp-wide). A minute then costs each form's own sweep, a listing of
 * `listingPages` pages every pass, and the `ownRuns` the listings send forms to; past that,
 * forms are listed one by one at the pace `cadence` gives.
 */
export function corpWideFits(
  counts: { readonly forms: number; readonly ownRuns: number; readonly listingPages: number },
  { minMs, perMinute }: { readonly minMs: number; readonly perMinute: number },
): boolean {
  const passes = Math.ceil(MINUTE_MS / Math.max(1_000, minMs));
  const calls = counts.forms + passes * Math.max(1, counts.listingPages) + counts.ownRuns;
  return calls <= Math.floor(perMinute * PLANNED_SHARE);
}

const DRIFT_MS = 1_000;

/** Whether a form polled at `polledAt` is due at `now`, given its pace and the pass period. */
export function isDue(
  polledAt: number | undefined,
  everyMs: number,
  now: number,
  passMs: number,
): boolean {
  // A pass's start drifts by the moments the previous one took to begin its form: that much
  // early counts as on time. Anything more would poll faster than planned (G4).
  if (polledAt === undefined || everyMs <= passMs) return true;
  return now - polledAt >= everyMs - Math.min(passMs / 2, DRIFT_MS);
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
