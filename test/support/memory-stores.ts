import { LeaseHeldError, StateConflictError, StoreWriteError } from '../../lib/errors.js';
import type { ErrorInfo, FormList, FormState, StartMode } from '../../lib/model.js';
import type {
  CommitManyResult,
  EventPublisher,
  FormsRead,
  FormStateStore,
  Guard,
  OutgoingMessage,
  PublishResult,
  RecordedSubmitter,
  StateChange,
  SubmitterLedger,
  SubmitterRecord,
} from '../../lib/ports.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** FormStateStore in memory, with the DynamoDB adapter's guard semantics. */
export class MemoryFormStateStore implements FormStateStore {
  readonly states = new Map<number, Mutable<FormState>>();
  requests = 0;

  /** The form list in the table; undefined until seeded or set. */
  list: { formIds: number[]; removed: Map<number, number> } | undefined = undefined;

  read(formIds: readonly number[], withList: boolean): Promise<FormsRead> {
    this.requests += Math.max(1, Math.ceil((formIds.length + (withList ? 1 : 0)) / 100));
    const states = new Map<number, FormState>();
    for (const id of formIds) {
      const state = this.states.get(id);
      if (state !== undefined) states.set(id, structuredClone(state));
    }
    const list = withList && this.list !== undefined ? structuredClone(this.list) : undefined;
    return Promise.resolve({ states, ...(list !== undefined && { list }) });
  }

  seedList(formIds: readonly number[]): Promise<FormList> {
    this.requests += 1;
    const list = (this.list ??= { formIds: [], removed: new Map<number, number>() });
    for (const formId of formIds) {
      if (!list.formIds.includes(formId) && !list.removed.has(formId)) list.formIds.push(formId);
    }
    list.formIds.sort((a, b) => a - b);
    return Promise.resolve(structuredClone(list));
  }

  create(
    formId: number,
    init: { cursor: number; origin: number; startMode: StartMode },
  ): Promise<FormState> {
    this.requests += 1;
    const existing = this.states.get(formId);
    if (existing !== undefined) return Promise.resolve(structuredClone(existing));
    const state = { formId, version: 1, ...init };
    this.states.set(formId, state);
    return Promise.resolve(structuredClone(state));
  }

  acquireLease(formId: number, owner: string, until: number, now: number): Promise<FormState> {
    this.requests += 1;
    const state = this.states.get(formId);
    if (
      state === undefined ||
      (state.lease !== undefined && state.lease.until >= now && state.lease.owner !== owner)
    ) {
      return Promise.reject(new LeaseHeldError(formId));
    }
    state.lease = { owner, until };
    state.version += 1;
    return Promise.resolve(structuredClone(state));
  }

  renewLease(formId: number, owner: string, until: number, now: number): Promise<void> {
    this.requests += 1;
    const state = this.states.get(formId);
    const lease = state?.lease;
    if (state === undefined || lease === undefined || lease.owner !== owner || lease.until < now) {
      return Promise.reject(new LeaseHeldError(formId));
    }
    state.lease = { owner, until };
    return Promise.resolve();
  }

  commit(formId: number, guard: Guard, change: StateChange, now: number): Promise<void> {
    this.requests += 1;
    const state = this.states.get(formId);
    if (state === undefined || !this.#guardHolds(state, guard, now)) {
      return Promise.reject(new StateConflictError(formId));
    }
    this.#apply(state, guard, change, now);
    return Promise.resolve();
  }

  commitMany(
    items: readonly { formId: number; version: number; change: StateChange }[],
    now: number,
  ): Promise<CommitManyResult> {
    const committed = new Set<number>();
    const conflicted = new Set<number>();
    // As DynamoDB's transactions: 100 a request, all or nothing.
    for (let first = 0; first < items.length; first += 100) {
      this.requests += 1;
      const group = items.slice(first, first + 100);
      const holds = (item: (typeof group)[number]) => {
        const state = this.states.get(item.formId);
        return state !== undefined && this.#guardHolds(state, guardOf(item), now);
      };
      const failed = group.filter((item) => !holds(item));
      for (const item of failed) conflicted.add(item.formId);
      if (failed.length > 0) continue;
      for (const item of group) {
        const state = this.states.get(item.formId);
        if (state !== undefined) this.#apply(state, guardOf(item), item.change, now);
        committed.add(item.formId);
      }
    }
    return Promise.resolve({ committed, conflicted });
  }

  noteError(formId: number, error: ErrorInfo): Promise<void> {
    this.requests += 1;
    const state = this.states.get(formId);
    if (state !== undefined) {
      state.lastError = error;
      state.version += 1;
    }
    return Promise.resolve();
  }

  #guardHolds(state: FormState, guard: Guard, now: number): boolean {
    if (guard.kind === 'lease') return state.lease?.owner === guard.owner;
    return (
      state.version === guard.version && (state.lease === undefined || state.lease.until < now)
    );
  }

  #apply(state: Mutable<FormState>, guard: Guard, change: StateChange, now: number): void {
    if (change.cursor !== undefined) state.cursor = change.cursor;
    if (change.continuation === null) delete state.continuation;
    else if (change.continuation !== undefined) state.continuation = change.continuation;
    if (change.error === null) delete state.lastError;
    else if (change.error !== undefined) state.lastError = change.error;
    if (change.ok === true) state.lastOkAt = now;
    if (change.recent !== undefined) state.recent = change.recent;
    if (change.pollEveryMs !== undefined) state.pollEveryMs = change.pollEveryMs;
    if (guard.kind === 'lease') delete state.lease;
    state.version += 1;
  }
}

/** SubmitterLedger in memory; `failRecord` makes the next record call fail after the publish. */
export class MemoryLedger implements SubmitterLedger {
  readonly records = new Map<string, SubmitterRecord>();
  failRecord = false;
  requests = 0;

  lookup(formId: number, uIds: readonly number[]): Promise<Map<number, RecordedSubmitter>> {
    this.requests += Math.ceil(uIds.length / 100);
    const found = new Map<number, RecordedSubmitter>();
    for (const uId of uIds) {
      const record = this.records.get(`${formId}:${uId}`);
      if (record !== undefined) found.set(uId, { submitAt: record.submitAt });
    }
    return Promise.resolve(found);
  }

  record(formId: number, records: readonly SubmitterRecord[]): Promise<void> {
    this.requests += Math.ceil(records.length / 25);
    if (this.failRecord) {
      this.failRecord = false;
      return Promise.reject(
        new StoreWriteError(
          `${records.length} published submitter(s) of form ${formId} could not be recorded`,
        ),
      );
    }
    for (const record of records) this.records.set(`${formId}:${record.uId}`, record);
    return Promise.resolve();
  }

  has(formId: number, uId: number): boolean {
    return this.records.has(`${formId}:${uId}`);
  }
}

/** A publisher that keeps what it sent; `refuse` lists event ids to fail. */
export class MemoryPublisher implements EventPublisher {
  readonly sent: OutgoingMessage[] = [];
  refuse = new Set<string>();
  calls = 0;

  publish(messages: readonly OutgoingMessage[]): Promise<PublishResult> {
    this.calls += Math.ceil(messages.length / 10);
    const published: string[] = [];
    const failed: { id: string; reason: string }[] = [];
    for (const message of messages) {
      if (this.refuse.has(message.id))
        failed.push({ id: message.id, reason: 'InternalError: refused' });
      else {
        this.sent.push(message);
        published.push(message.id);
      }
    }
    return Promise.resolve({ published, failed });
  }

  ids(): string[] {
    return this.sent.map((message) => message.id);
  }
}

const guardOf = (item: { version: number }): Guard => ({ kind: 'version', version: item.version });
