/** A run never keeps less than this for saving its continuation (G6, docs/guarantees.md#g6). */
export const MIN_MARGIN_MS = 1_000;
/** The most of an invocation's time the margin may take: the rest is for polling. */
const MARGIN_SHARE = 0.25;

/**
 * The deadline margin a run can afford: the configured one, cut to a quarter of the time the
 * invocation had at its start. Why: a margin larger than the function's time (a 5 s timeout
 * with the 10 s default) would defer every form on every run while reporting success.
 */
export function fitMargin(configuredMs: number, remainingAtStartMs: number): number {
  return Math.min(
    configuredMs,
    Math.max(MIN_MARGIN_MS, Math.floor(remainingAtStartMs * MARGIN_SHARE)),
  );
}
