import type { Clock } from '../clock.js';
import { isAbort } from '../errors.js';
import {
  longestWaiting,
  nextBlock,
  type BudgetHolder,
  type BudgetRecord,
  type BudgetStore,
  type EndpointBlock,
} from './budget.js';
import { FrequencyLimitError, RateLimitedError } from './errors.js';
import { ANY_ENDPOINT, SendLog } from './send-log.js';
import { Slots } from './slots.js';

/** How long a hold on the corp's budget lets its holder start sends before it renews. */
export const HOLD_SEND_MS = 5_000;
/** A caller waiting for the budget looks again this often. */
const WAIT_POLL_MS = 500;
/** Fewest and most sends a holder may make between two writes of what it sent. */
const QUOTA_MIN = 8;
const QUOTA_MAX = 100;
/** A 10053 this soon after a block ended means the next, longer block (docs/weiban-api.md#limits). */
const ESCALATE_WITHIN_MS = 5 * 60_000;

export interface LimiterOptions {
  /** Weiban: fewer than 5 requests in processing per corp (10052). */
  readonly maxInFlight: number;
  /** Weiban: ≤ 600 per endpoint per minute (10053). */
  readonly perMinute: number;
  /** Weiban: ≤ 36,000 per endpoint per hour (10053, then a 60-minute block). */
  readonly perHour?: number;
  readonly clock: Clock;
  /**
   * How long a request that was sent but given up on (a timeout, the deadline) keeps its slot:
   * Weiban may still be processing it, and counts it against the corp's concurrency (10052).
   */
  readonly abandonedHoldMs?: number;
  /**
   * The corp's budget, shared with every other caller of the corp through the table. Without
   * it the limiter paces this process alone.
   */
  readonly shared?: { readonly store: BudgetStore; readonly owner: string; readonly label: string };
}

export interface LimiterStats {
  readonly calls: Readonly<Record<string, number>>;
  readonly maxInFlight: number;
}

interface Hold {
  readonly sendUntil: number;
  readonly since: number;
  quota: number;
  /** The caller that has waited longest for the budget, as of the last write. */
  wantedBy: string | undefined;
}

/**
 * Paces every Weiban request of the process: a cap on requests in flight, per-endpoint budgets
 * over any rolling minute and hour, and endpoint blocks after 10053. With a shared store it
 * first takes the corp's budget, so that the caps hold for the corp, not just the process
 * (docs/guarantees.md#g4). About 330 lines and one thing: the waits for a slot, a minute's
 * budget, a block and the corp's hold are one queue, and splitting them would split its state.
 */
export class WeibanLimiter {
  readonly #o: LimiterOptions;
  readonly #budget: { readonly perMinute: number; readonly perHour: number };
  #log = new SendLog();
  /** Sends not yet written to the shared record. */
  #unsaved: { endpoint: string; at: number }[] = [];
  readonly #blocks = new Map<string, EndpointBlock>();
  readonly #calls: Record<string, number> = {};
  readonly #slots: Slots;
  #hold: Hold | undefined;
  #holding: Promise<void> | undefined;
  #sendsThisHold = 0;

  constructor(options: LimiterOptions) {
    this.#o = options;
    this.#slots = new Slots(options.maxInFlight, options.clock);
    this.#budget = {
      perMinute: options.perMinute,
      perHour: options.perHour ?? Number.POSITIVE_INFINITY,
    };
  }

  /** Runs `task` once a slot and the endpoint's budget allow it. Throws RateLimitedError while blocked. */
  async schedule<T>(endpoint: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.#throwIfBlocked(endpoint);
    await this.#slots.take(signal);
    let sent = false;
    let abandoned = false;
    try {
      await this.#takeTurn(endpoint, signal);
      sent = true;
      return await task();
    } catch (error: unknown) {
      if (error instanceof FrequencyLimitError) throw await this.#blocked(endpoint, error);
      abandoned = sent && isAbandoned(error);
      throw error;
    } finally {
      const hold = this.#o.abandonedHoldMs ?? 0;
      // Weiban may still be processing a request given up on, and counts it (10052).
      if (abandoned && hold > 0) this.#slots.hold(hold);
      else this.#slots.release();
    }
  }

  /** Until when the endpoint is blocked, if it is. */
  blockedUntil(endpoint: string): number | undefined {
    const until = this.#blocks.get(endpoint)?.until;
    return until !== undefined && until > this.#o.clock.now() ? until : undefined;
  }

  /** The endpoint's block level: 0 when it is not blocked (for metrics and `status`). */
  blockLevel(endpoint: string): number {
    return this.blockedUntil(endpoint) === undefined ? 0 : (this.#blocks.get(endpoint)?.level ?? 0);
  }

  /** The longest block in effect now, over every endpoint (0 for none). */
  highestBlockLevel(): number {
    const now = this.#o.clock.now();
    return Math.max(
      0,
      ...[...this.#blocks.values()]
        .filter((block) => block.until > now)
        .map((block) => block.level),
    );
  }

  stats(): LimiterStats {
    return { calls: { ...this.#calls }, maxInFlight: this.#slots.peak };
  }

  /** Sends this process knows of inside the rolling minute ending now (the corp's, when shared). */
  inLastMinute(endpoint: string): number {
    return this.#log.inMinute(endpoint, this.#o.clock.now());
  }

  /**
   * At the end of a unit of work: gives the corp's budget up when another caller waits for
   * it. Cheap otherwise: nothing is written.
   */
  async yieldIfWanted(): Promise<void> {
    const next = this.#hold?.wantedBy;
    if (next !== undefined) await this.release(next);
  }

  /**
   * Shares what this process sent and gives the corp's budget up. Requests given up on keep
   * it held (without sending) until Weiban can no longer be processing them.
   */
  async release(handTo?: string): Promise<void> {
    await this.#holding?.catch(() => undefined);
    const shared = this.#o.shared;
    if (shared === undefined || this.#hold === undefined) return;
    const now = this.#o.clock.now();
    this.#hold = undefined;
    const keepUntil = this.#slots.heldUntil > now ? this.#slots.heldUntil : undefined;
    await shared.store.release(shared.owner, this.#log.toShared(now), keepUntil, now, handTo);
    this.#unsaved = [];
  }

  #throwIfBlocked(endpoint: string): void {
    const until = this.blockedUntil(endpoint);
    if (until !== undefined) throw new RateLimitedError(endpoint, until);
  }

  /** Waits until this process holds the corp's budget and the endpoint has room, then counts the send. */
  async #takeTurn(endpoint: string, signal?: AbortSignal): Promise<void> {
    const { clock } = this.#o;
    for (;;) {
      signal?.throwIfAborted();
      this.#throwIfBlocked(endpoint);
      await this.#ensureHold(signal);
      this.#throwIfBlocked(endpoint);
      const now = clock.now();
      const hold = this.#hold;
      const held = this.#o.shared === undefined || (hold !== undefined && now < hold.sendUntil);
      const freeAt = this.#log.nextFreeAt(endpoint, now, this.#budget);
      if (held && freeAt <= now && (hold === undefined || hold.quota > 0)) {
        this.#log.record(endpoint, now);
        this.#unsaved.push({ endpoint, at: now });
        this.#calls[endpoint] = (this.#calls[endpoint] ?? 0) + 1;
        this.#sendsThisHold += 1;
        if (hold !== undefined) hold.quota -= 1;
        return;
      }
      if (freeAt > now) await clock.sleep(freeAt - now, signal);
    }
  }

  /** Holds the corp's budget with sends left, renewing or claiming it once for every waiting send. */
  async #ensureHold(signal?: AbortSignal): Promise<void> {
    const shared = this.#o.shared;
    if (shared === undefined) return;
    const hold = this.#hold;
    if (hold !== undefined && this.#o.clock.now() < hold.sendUntil && hold.quota > 0) return;
    this.#holding ??= this.#takeHold(shared, signal).finally(() => {
      this.#holding = undefined;
    });
    await this.#holding;
  }

  async #takeHold(
    shared: NonNullable<LimiterOptions['shared']>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { clock } = this.#o;
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const holder = this.#holder(shared, now);
      if (this.#hold !== undefined) {
        const written = await shared.store.renew(holder, this.#log.toShared(now), now);
        if (written !== undefined) {
          this.#unsaved = [];
          this.#startHold(holder, this.#hold.since, longestWaiting(written, shared.owner, now));
          return;
        }
        // Another caller took the budget after this hold lapsed.
        this.#hold = undefined;
        continue;
      }
      const claim = await shared.store.claim(holder, now);
      if (claim.claimed) {
        this.#adopt(claim.before, shared.owner);
        this.#startHold(
          holder,
          now,
          claim.before === undefined ? undefined : longestWaiting(claim.before, shared.owner, now),
        );
        return;
      }
      await this.#waitForChance(shared, claim.current, signal);
    }
  }

  /**
   * Says this process waits, so the holder gives the budget up at its next pause, and reads the
   * record until the holder is gone or its time is up. Reads only: a failed claim costs a write.
   */
  async #waitForChance(
    shared: NonNullable<LimiterOptions['shared']>,
    current: BudgetRecord,
    signal?: AbortSignal,
  ): Promise<void> {
    const { clock } = this.#o;
    let record: BudgetRecord | undefined = current;
    let wishUntil = 0;
    while (record !== undefined && !claimable(record, shared.owner, clock.now())) {
      const now = clock.now();
      const until = Math.max(
        record.holder?.until ?? now,
        record.next?.owner === shared.owner ? now : (record.next?.until ?? now),
      );
      if (wishUntil - now < WAIT_POLL_MS * 2) {
        wishUntil = now + WAIT_POLL_MS * 20;
        await shared.store.wait(shared.owner, wishUntil);
      }
      await clock.sleep(Math.max(1, Math.min(WAIT_POLL_MS, until - now)), signal);
      record = await shared.store.read();
    }
  }

  #holder(shared: NonNullable<LimiterOptions['shared']>, now: number): BudgetHolder {
    const quota = Math.min(QUOTA_MAX, Math.max(QUOTA_MIN, 2 * this.#sendsThisHold));
    return {
      owner: shared.owner,
      label: shared.label,
      sendUntil: now + HOLD_SEND_MS,
      until: Math.max(now + HOLD_SEND_MS + (this.#o.abandonedHoldMs ?? 0), this.#slots.heldUntil),
      quota,
    };
  }

  #startHold(holder: BudgetHolder, since: number, wantedBy: string | undefined): void {
    this.#hold = { sendUntil: holder.sendUntil, since, quota: holder.quota, wantedBy };
    this.#sendsThisHold = 0;
  }

  /**
   * Takes in what the table knew when this process claimed the budget: the sends and blocks of
   * whoever held it before, and, if that holder died, the sends it may have made unseen.
   */
  #adopt(before: BudgetRecord | undefined, owner: string): void {
    if (before === undefined) return;
    if (before.writer !== owner) {
      const log = SendLog.from(before.sends);
      for (const { endpoint, at } of this.#unsaved) log.record(endpoint, at);
      this.#log = log;
    }
    // A holder still named in the record never released: its time ran out, so it died, maybe
    // after sends it never wrote.
    const previous = before.holder;
    if (previous !== undefined && previous.owner !== owner && previous.quota > 0) {
      this.#log.record(ANY_ENDPOINT, previous.sendUntil, previous.quota);
      this.#unsaved.push({ endpoint: ANY_ENDPOINT, at: previous.sendUntil });
    }
    for (const [endpoint, block] of Object.entries(before.blocks)) {
      const known = this.#blocks.get(endpoint);
      if (known === undefined || block.until > known.until) this.#blocks.set(endpoint, block);
    }
  }

  /** A 10053: blocks the endpoint for as long as the breach Weiban means, and tells the corp. */
  async #blocked(endpoint: string, error: FrequencyLimitError): Promise<RateLimitedError> {
    const now = this.#o.clock.now();
    const block = nextBlock(this.#blocks.get(endpoint), now, ESCALATE_WITHIN_MS);
    this.#blocks.set(endpoint, block);
    await this.#o.shared?.store.block(endpoint, block).catch(() => undefined);
    return new RateLimitedError(endpoint, block.until, error.errcode, { cause: error });
  }
}

/** Whether `owner` may claim the budget now: nobody holds it, and it is not handed to another. */
function claimable(record: BudgetRecord, owner: string, now: number): boolean {
  const held =
    record.holder !== undefined && record.holder.owner !== owner && record.holder.until > now;
  const handed =
    record.next !== undefined && record.next.owner !== owner && record.next.until > now;
  return !held && !handed;
}

/** A sent request given up on before its answer: the caller's deadline, or a timeout. */
function isAbandoned(error: unknown): boolean {
  return (
    isAbort(error) || (error instanceof Error && 'abandoned' in error && error.abandoned === true)
  );
}
