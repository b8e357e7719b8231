import type { Clock } from '../lib/clock.js';
import type { ErrorInfo, FormList, FormState, StartMode } from '../lib/model.js';
import type {
  CommitManyResult,
  FormsRead,
  Guard,
  OutgoingMessage,
  PublishResult,
  StateChange,
  SubmitterRecord,
} from '../lib/ports.js';
import type { BudgetHolder, BudgetRecord, Claim, EndpointBlock } from '../lib/weiban/budget.js';
import { encodeSends } from '../lib/store/corp-budget.js';
import type { SharedSends } from '../lib/weiban/send-log.js';
import type { CachedToken } from '../lib/weiban/token.js';
import { MemoryBudgetStore } from '../test/support/memory-budget.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../test/support/memory-stores.js';
import { MemoryTokenStore } from '../test/support/memory-token-store.js';

/**
 * DynamoDB requests and the request units on-demand bills for them, counted as the table's
 * adapters (lib/store/) would send them: strongly consistent reads at 1 RRU per 4 KB of item,
 * writes at 1 WRU per KB (2 in a transaction). Item sizes are estimated from the item's JSON
 * plus its keys; DynamoDB's own size rule gives a little less.
 */
export class DynamoMeter {
  requests = 0;
  rru = 0;
  wru = 0;
  readonly byCommand: Record<string, number> = {};
  /** Requests by part of the table: form state and list, ledger, the corp's budget, the token. */
  readonly byPart: Record<string, number> = {};
  /** Each request, when it was sent (with a clock). */
  readonly times: { at: number; part: string }[] = [];

  constructor(readonly clock?: Clock) {}

  request(command: string, part: string, count = 1): void {
    const at = this.clock?.now();
    if (at !== undefined) for (let i = 0; i < count; i += 1) this.times.push({ at, part });
    this.requests += count;
    this.byCommand[command] = (this.byCommand[command] ?? 0) + count;
    this.byPart[part] = (this.byPart[part] ?? 0) + count;
  }

  snapshot(): { requests: number; rru: number; wru: number } {
    return { requests: this.requests, rru: this.rru, wru: this.wru };
  }
}

// pk, sk, version, updated_at and the like, beyond what the domain object holds.
const KEY_BYTES = 80;
const readUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 4096));
const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
const stateBytes = (state: FormState | undefined): number =>
  KEY_BYTES + (state === undefined ? 0 : JSON.stringify(state).length);

export class MeteredFormStore extends MemoryFormStateStore {
  constructor(readonly meter: DynamoMeter) {
    super();
  }

  override read(formIds: readonly number[], withList: boolean): Promise<FormsRead> {
    const keys = formIds.length + (withList ? 1 : 0);
    this.meter.request('BatchGetItem', 'forms', Math.max(1, Math.ceil(keys / 100)));
    for (const formId of formIds) this.meter.rru += readUnits(stateBytes(this.states.get(formId)));
    if (withList) {
      this.meter.rru += readUnits(KEY_BYTES + JSON.stringify(this.list?.formIds ?? []).length);
    }
    return super.read(formIds, withList);
  }

  override seedList(formIds: readonly number[]): Promise<FormList> {
    this.meter.request('UpdateItem', 'forms');
    this.meter.wru += writeUnits(KEY_BYTES + JSON.stringify(formIds).length);
    return super.seedList(formIds);
  }

  override create(
    formId: number,
    init: { cursor: number; origin: number; startMode: StartMode },
  ): Promise<FormState> {
    this.meter.request('PutItem', 'forms');
    this.meter.wru += 1;
    return super.create(formId, init);
  }

  override acquireLease(
    formId: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<FormState> {
    this.meter.request('UpdateItem', 'forms');
    this.meter.wru += writeUnits(stateBytes(this.states.get(formId)));
    return super.acquireLease(formId, owner, until, now);
  }

  override async commit(
    formId: number,
    guard: Guard,
    change: StateChange,
    now: number,
  ): Promise<void> {
    this.meter.request('UpdateItem', 'forms');
    try {
      await super.commit(formId, guard, change, now);
    } finally {
      this.meter.wru += writeUnits(stateBytes(this.states.get(formId)));
    }
  }

  override async commitMany(
    items: readonly { formId: number; version: number; change: StateChange }[],
    now: number,
  ): Promise<CommitManyResult> {
    this.meter.request('TransactWriteItems', 'forms', Math.ceil(items.length / 100));
    const done = await super.commitMany(items, now);
    for (const item of items)
      this.meter.wru += 2 * writeUnits(stateBytes(this.states.get(item.formId)));
    return done;
  }

  override noteError(formId: number, error: ErrorInfo): Promise<void> {
    this.meter.request('UpdateItem', 'forms');
    this.meter.wru += writeUnits(stateBytes(this.states.get(formId)));
    return super.noteError(formId, error);
  }
}

export class MeteredLedger extends MemoryLedger {
  constructor(readonly meter: DynamoMeter) {
    super();
  }

  override lookup(formId: number, uIds: readonly number[]) {
    this.meter.request('BatchGetItem', 'ledger', Math.ceil(uIds.length / 100));
    // A key that holds no item still costs the smallest read.
    this.meter.rru += uIds.length;
    return super.lookup(formId, uIds);
  }

  override record(formId: number, records: readonly SubmitterRecord[]): Promise<void> {
    this.meter.request('BatchWriteItem', 'ledger', Math.ceil(records.length / 25));
    for (const record of records) this.meter.wru += writeUnits(KEY_BYTES + record.event.length);
    return super.record(formId, records);
  }
}

export class MeteredBudget extends MemoryBudgetStore {
  constructor(readonly meter: DynamoMeter) {
    super();
  }

  #bytes(sends?: SharedSends): number {
    const record = this.record;
    return (
      KEY_BYTES +
      300 +
      encodeSends(sends ?? record?.sends ?? { seconds: {}, minutes: {} }).length +
      JSON.stringify(record?.waiting ?? {}).length +
      JSON.stringify(record?.blocks ?? {}).length
    );
  }

  override async claim(holder: BudgetHolder, now: number): Promise<Claim> {
    this.meter.request('UpdateItem', 'budget');
    this.meter.wru += writeUnits(this.#bytes());
    const claim = await super.claim(holder, now);
    if (!claim.claimed) {
      this.meter.request('GetItem', 'budget');
      this.meter.rru += readUnits(this.#bytes());
    }
    return claim;
  }

  override renew(holder: BudgetHolder, sends: SharedSends): Promise<BudgetRecord | undefined> {
    this.meter.request('UpdateItem', 'budget');
    this.meter.wru += writeUnits(Math.max(this.#bytes(), this.#bytes(sends)));
    return super.renew(holder, sends);
  }

  override release(
    owner: string,
    sends: SharedSends,
    keepUntil: number | undefined,
    now: number,
    handTo?: string,
  ): Promise<void> {
    this.meter.request('UpdateItem', 'budget');
    this.meter.wru += writeUnits(Math.max(this.#bytes(), this.#bytes(sends)));
    return super.release(owner, sends, keepUntil, now, handTo);
  }

  override wait(owner: string, until: number): Promise<void> {
    this.meter.request('UpdateItem', 'budget');
    this.meter.wru += writeUnits(this.#bytes());
    return super.wait(owner, until);
  }

  override read(): Promise<BudgetRecord | undefined> {
    this.meter.request('GetItem', 'budget');
    this.meter.rru += readUnits(this.#bytes());
    return super.read();
  }

  override block(endpoint: string, block: EndpointBlock): Promise<void> {
    this.meter.request('UpdateItem', 'budget');
    this.meter.wru += writeUnits(this.#bytes());
    return super.block(endpoint, block);
  }
}

export class MeteredTokenStore extends MemoryTokenStore {
  constructor(readonly meter: DynamoMeter) {
    super();
  }

  override read(): Promise<CachedToken | undefined> {
    this.meter.request('GetItem', 'token');
    this.meter.rru += 1;
    return super.read();
  }

  override tryLock(
    owner: string,
    until: number,
    now: number,
    bad: string | undefined,
  ): Promise<boolean> {
    this.meter.request('UpdateItem', 'token');
    this.meter.wru += 1;
    return super.tryLock(owner, until, now, bad);
  }

  override save(owner: string, token: CachedToken): Promise<void> {
    this.meter.request('PutItem', 'token');
    this.meter.wru += 1;
    return super.save(owner, token);
  }
}

/** A publisher that notes, on the clock, when each event went to SNS, and bills PublishBatch calls. */
export class TimedPublisher extends MemoryPublisher {
  /** `form:u_id` → when its event was published (epoch ms). */
  readonly publishedAt = new Map<string, number>();
  /** Each publish, with the PublishBatch requests it took. */
  readonly callTimes: { at: number; calls: number }[] = [];

  constructor(readonly clock: Clock) {
    super();
  }

  override async publish(messages: readonly OutgoingMessage[]): Promise<PublishResult> {
    const result = await super.publish(messages);
    const accepted = new Set(result.published);
    const now = this.clock.now();
    this.callTimes.push({ at: now, calls: Math.ceil(messages.length / 10) });
    for (const message of messages) {
      if (!accepted.has(message.id)) continue;
      const event = JSON.parse(message.body) as { data?: { form_id?: number; u_id?: number } };
      const key = `${event.data?.form_id}:${event.data?.u_id}`;
      if (!this.publishedAt.has(key)) this.publishedAt.set(key, now);
    }
    return result;
  }
}
