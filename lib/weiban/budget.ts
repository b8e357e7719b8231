import type { SharedSends } from './send-log.js';

/**
 * The caller that may talk to Weiban right now. One holder at a time means the corp's
 * in-flight cap and its minute and hour budgets are kept by one limiter, whichever process
 * holds them: a container old or new, the CLI, or a local run (docs/guarantees.md#g4).
 */
export interface BudgetHolder {
  /** One per process. */
  readonly owner: string;
  /** What the holder is, for `status`: e.g. `poller`, `backfill`. */
  readonly label: string;
  /** Sends may start until then (epoch ms); later ones need a renewal. */
  readonly sendUntil: number;
  /**
   * Held until then: a request sent just before `sendUntil` may still be in processing at
   * Weiban until its timeout, and Weiban counts it against the corp (10052).
   */
  readonly until: number;
  /**
   * Most sends the holder may make after its last write. Should it die, they are unknown to
   * the table, so its successor counts this many against every endpoint.
   */
  readonly quota: number;
}

/** A block Weiban imposed on one endpoint (10053), shared so no caller calls into it. */
export interface EndpointBlock {
  /** Epoch ms. */
  readonly until: number;
  /** 1: the 60 s block; 2: the hourly one; 3: the daily one. */
  readonly level: number;
}

/** The corp's budget record in the table. */
export interface BudgetRecord {
  readonly holder?: BudgetHolder;
  /** Whose sends the record holds last: a holder that wrote them knows no newer ones exist. */
  readonly writer?: string;
  /** Callers waiting for the budget: owner → until when the wish lapses (epoch ms). */
  readonly waiting: Readonly<Record<string, number>>;
  /**
   * Who a holder that gave the budget up handed it to, until when: no one else may claim it
   * meanwhile, so a caller that waited gets its turn before the one that just let go.
   */
  readonly next?: { readonly owner: string; readonly until: number };
  readonly sends: SharedSends;
  readonly blocks: Readonly<Record<string, EndpointBlock>>;
}

export type Claim =
  | { readonly claimed: true; readonly before: BudgetRecord | undefined }
  | { readonly claimed: false; readonly current: BudgetRecord };

/** Where the corp's budget is shared: one item in the table (lib/store/corp-budget.ts). */
export interface BudgetStore {
  /**
   * Takes the budget for `holder.owner` when nobody holds it, the holder's time is up, or the
   * owner already holds it. Writes the holder only: what the caller knows of earlier sends
   * may be out of date until it has read `before`.
   */
  claim(holder: BudgetHolder, now: number): Promise<Claim>;
  /**
   * Extends the owner's hold and shares its sends, while it still holds the budget. Returns the
   * record as written (its `waiting` says who waits), or undefined when the owner lost it.
   */
  renew(holder: BudgetHolder, sends: SharedSends, now: number): Promise<BudgetRecord | undefined>;
  /**
   * Shares the owner's sends and gives the budget up, to `handTo` first when given. With
   * `keepUntil`, the owner stays holder until then without sending: requests it gave up on may
   * still be in processing at Weiban.
   */
  release(
    owner: string,
    sends: SharedSends,
    keepUntil: number | undefined,
    now: number,
    handTo?: string,
  ): Promise<void>;
  /** Says `owner` waits for the budget until `until`, so the holder gives it up when it can. */
  wait(owner: string, until: number): Promise<void>;
  /** The record as it is now, if there is one. */
  read(): Promise<BudgetRecord | undefined>;
  /** Shares a block at once, whoever holds the budget. */
  block(endpoint: string, block: EndpointBlock): Promise<void>;
}

/** How long a hand-over reserves the budget for the waiter it names (it looks twice a second). */
export const HANDOVER_MS = 2_000;

/** The caller that has waited longest among the live wishes, other than `owner`. */
export function longestWaiting(
  record: BudgetRecord,
  owner: string,
  now: number,
): string | undefined {
  const wishes = Object.entries(record.waiting).filter(
    ([who, until]) => who !== owner && until > now,
  );
  wishes.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return wishes[0]?.[0];
}

/** Seconds of a block, by level (Weiban: a per-minute breach 60 s, a per-hour one 60 min). */
export const BLOCK_MS: readonly number[] = [60_000, 3_600_000, 86_400_000];

/**
 * The block after a 10053. Weiban's hourly and daily quotas answer 10053 too, and say nothing
 * of which one was crossed: a 10053 soon after a block ended means the longer block is on.
 */
export function nextBlock(
  previous: EndpointBlock | undefined,
  now: number,
  escalateWithinMs: number,
): EndpointBlock {
  // Answers to requests already in flight when the block began are the same breach.
  if (previous !== undefined && now < previous.until) return previous;
  const level =
    previous !== undefined && now - previous.until < escalateWithinMs
      ? Math.min(BLOCK_MS.length, previous.level + 1)
      : 1;
  return { until: now + (BLOCK_MS[level - 1] ?? 60_000), level };
}
