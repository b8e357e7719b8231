import { backoffMs } from '../backoff.js';
import { systemClock, type Clock } from '../clock.js';

/** Retries DynamoDB's "unprocessed" leftovers with growing pauses; returns what is still left. */
export async function drainUnprocessed<T>(
  work: readonly T[],
  send: (batch: readonly T[]) => Promise<readonly T[]>,
  {
    attempts = 6,
    baseDelayMs = 50,
    clock = systemClock,
  }: { attempts?: number; baseDelayMs?: number; clock?: Clock } = {},
): Promise<readonly T[]> {
  let left = work;
  for (let attempt = 0; left.length > 0 && attempt < attempts; attempt += 1) {
    if (attempt > 0) await clock.sleep(backoffMs(attempt, { baseMs: baseDelayMs }));
    left = await send(left);
  }
  return left;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
