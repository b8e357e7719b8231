/**
 * The pause before retry number `attempt` (1-based) of a call that failed for a moment:
 * exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half fixed, half random)
 * so that competing callers spread out.
 */
export function backoffMs(
  attempt: number,
  { baseMs, maxMs }: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}
