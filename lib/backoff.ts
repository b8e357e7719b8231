/**
 * How long to wait after failed attempt `attempt` (1 for the first): doubling from `baseMs`,
 * capped at `maxMs`, with jitter over the upper half so that many callers retrying at once
 * spread out instead of arriving together again.
 */
export function backoffMs(
  attempt: number,
  {
    baseMs,
    maxMs = Number.POSITIVE_INFINITY,
  }: { readonly baseMs: number; readonly maxMs?: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling * (0.5 + random() / 2);
}
