/**
 * Time as the service sees it. Everything that waits or reads the time takes a Clock,
 * so tests and the benchmark can move time without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * A signal that aborts after `ms` of the clock's time, as AbortSignal.timeout does in real
 * time. `cancel()` clears its timer once it is no longer needed.
 */
export function clockTimeout(
  clock: Clock,
  ms: number,
): { signal: AbortSignal; cancel: () => void } {
  const deadline = new AbortController();
  const cancelled = new AbortController();
  clock.sleep(ms, cancelled.signal).then(
    () => {
      deadline.abort(new DOMException('The deadline passed.', 'TimeoutError'));
    },
    () => undefined,
  );
  return {
    signal: deadline.signal,
    cancel: () => {
      cancelled.abort();
    },
  };
}

/** Whole seconds since the epoch, the unit Weiban uses for every time field. */
export const toUnixSeconds = (ms: number): number => Math.floor(ms / 1000);

export const toIso = (unixSeconds: number): string =>
  new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');

/** The error an aborted signal carries, as an Error. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error
    ? reason
    : new DOMException('The operation was aborted.', 'AbortError');
}
