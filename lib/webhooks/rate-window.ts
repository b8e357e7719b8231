/**
 * A receiver counts arrivals, the window counts decisions to send. A send holds its place this
 * much longer than the receiver's window, so that the varying delay between deciding and
 * arriving cannot fit one message more into the receiver's window than it allows.
 */
export const ARRIVAL_SKEW_MS = 1_000;
const MINUTE_MS = 60_000 + ARRIVAL_SKEW_MS;
const SECOND_MS = 1_000 + ARRIVAL_SKEW_MS;

export interface RateLimits {
  readonly perMinute: number;
  readonly perSecond?: number;
}

/** An endpoint's shared send window: recent sends (epoch ms, ascending) and a block. */
export interface WindowState {
  readonly sent: readonly number[];
  /** Nothing is sent before this (a throttle answer or a Retry-After), epoch ms; 0 for none. */
  readonly blockedUntil: number;
}

export const EMPTY_WINDOW: WindowState = { sent: [], blockedUntil: 0 };

/** The sends that still count at `nowMs`. */
export const recent = (state: WindowState, nowMs: number): number[] =>
  state.sent.filter((at) => at > nowMs - MINUTE_MS);

/** How many sends the limits allow at `nowMs`. */
export function freeSlots(state: WindowState, limits: RateLimits, nowMs: number): number {
  if (state.blockedUntil > nowMs) return 0;
  const sent = recent(state, nowMs);
  let free = limits.perMinute - sent.length;
  if (limits.perSecond !== undefined) {
    const lastSecond = sent.filter((at) => at > nowMs - SECOND_MS).length;
    free = Math.min(free, limits.perSecond - lastSecond);
  }
  return Math.max(0, free);
}

/** The first moment at or after `nowMs` at which one more send is allowed. */
export function nextFreeAt(state: WindowState, limits: RateLimits, nowMs: number): number {
  const sent = recent(state, nowMs);
  let at = Math.max(nowMs, state.blockedUntil);
  // A sliding log: the send `limit` places from the end must have left the window.
  const leave = (limit: number, windowMs: number) => {
    const oldest = sent[sent.length - limit];
    if (oldest !== undefined) at = Math.max(at, oldest + windowMs);
  };
  leave(limits.perMinute, MINUTE_MS);
  if (limits.perSecond !== undefined) leave(limits.perSecond, SECOND_MS);
  return at;
}

/** Takes up to `wanted` sends at `nowMs`; returns the new state and how many were granted. */
export function take(
  state: WindowState,
  limits: RateLimits,
  nowMs: number,
  wanted: number,
): { state: WindowState; granted: number } {
  const granted = Math.min(wanted, freeSlots(state, limits, nowMs));
  const sent = recent(state, nowMs);
  for (let i = 0; i < granted; i += 1) sent.push(nowMs);
  return { state: { sent, blockedUntil: state.blockedUntil }, granted };
}

/**
 * When the next `count` sends would be allowed, each taken as soon as allowed: where to put
 * waiting messages back so that each returns for a send of its own, not all for the next one.
 */
export function upcomingSlots(
  state: WindowState,
  limits: RateLimits,
  nowMs: number,
  count: number,
): number[] {
  const slots: number[] = [];
  let current = state;
  let at = nowMs;
  while (slots.length < count) {
    at = nextFreeAt(current, limits, at);
    const taken = take(current, limits, at, count - slots.length);
    for (let i = 0; i < taken.granted; i += 1) slots.push(at);
    current = taken.state;
  }
  return slots;
}
