import {
  HANDOVER_MS,
  type BudgetHolder,
  type BudgetRecord,
  type BudgetStore,
  type Claim,
  type EndpointBlock,
} from '../../lib/weiban/budget.js';
import type { SharedSends } from '../../lib/weiban/send-log.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The corp's budget record in memory, with the DynamoDB adapter's conditions. */
export class MemoryBudgetStore implements BudgetStore {
  record: Mutable<BudgetRecord> | undefined;
  /** Every request, as DynamoDB would bill it: reads and writes. */
  readonly requests = { reads: 0, writes: 0 };

  claim(holder: BudgetHolder, now: number): Promise<Claim> {
    this.requests.writes += 1;
    const current = this.record;
    const free =
      (current?.holder === undefined ||
        current.holder.until <= now ||
        current.holder.owner === holder.owner) &&
      (current?.next === undefined ||
        current.next.owner === holder.owner ||
        current.next.until <= now);
    if (!free) {
      this.requests.reads += 1;
      return Promise.resolve({ claimed: false, current: structuredClone(current) });
    }
    const before = current === undefined ? undefined : structuredClone(current);
    this.record = {
      waiting: {},
      sends: { seconds: {}, minutes: {} },
      blocks: {},
      ...current,
      holder: { ...holder },
    };
    delete this.record.next;
    return Promise.resolve({ claimed: true, before });
  }

  renew(holder: BudgetHolder, sends: SharedSends): Promise<BudgetRecord | undefined> {
    this.requests.writes += 1;
    const current = this.record;
    if (current?.holder?.owner !== holder.owner) return Promise.resolve(undefined);
    current.holder = { ...holder };
    current.sends = structuredClone(sends);
    current.writer = holder.owner;
    return Promise.resolve(structuredClone(current));
  }

  release(
    owner: string,
    sends: SharedSends,
    keepUntil: number | undefined,
    now: number,
    handTo?: string,
  ): Promise<void> {
    this.requests.writes += 1;
    const current = this.record;
    if (current?.holder?.owner !== owner) return Promise.resolve();
    current.sends = structuredClone(sends);
    current.writer = owner;
    if (keepUntil !== undefined && keepUntil > now) {
      current.holder = { ...current.holder, sendUntil: now, until: keepUntil, quota: 0 };
    } else delete current.holder;
    if (handTo !== undefined) {
      current.next = { owner: handTo, until: Math.max(now, keepUntil ?? now) + HANDOVER_MS };
    }
    return Promise.resolve();
  }

  wait(owner: string, until: number): Promise<void> {
    this.requests.writes += 1;
    if (this.record !== undefined) this.record.waiting = { ...this.record.waiting, [owner]: until };
    return Promise.resolve();
  }

  read(): Promise<BudgetRecord | undefined> {
    this.requests.reads += 1;
    return Promise.resolve(this.record === undefined ? undefined : structuredClone(this.record));
  }

  block(endpoint: string, block: EndpointBlock): Promise<void> {
    this.requests.writes += 1;
    if (this.record !== undefined)
      this.record.blocks = { ...this.record.blocks, [endpoint]: block };
    return Promise.resolve();
  }
}
