import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.js';
import { LeaseHeldError, StateConflictError, StoreWriteError } from '../errors.js';
import type { Continuation, ErrorInfo, FormList, FormState, StartMode } from '../model.js';
import type { CommitManyResult, FormsRead, FormStateStore, Guard, StateChange } from '../ports.js';
import { FORM_LIST_KEY, formPk, STATE_SK } from './keys.js';
import { chunk, drainUnprocessed } from './retry.js';

interface StateItem {
  pk: string;
  sk: string;
  form_id: number;
  version: number;
  cursor: number;
  origin: number;
  start_mode: StartMode;
  continuation?: Continuation;
  lease_owner?: string;
  lease_until?: number;
  last_ok_at?: number;
  last_error?: ErrorInfo;
  recent?: Record<string, number>;
  poll_every_ms?: number;
  created_at?: number;
  updated_at?: number;
}

type TableKey = { pk: string; sk: string };

const key = (formId: number): TableKey => ({ pk: formPk(formId), sk: STATE_SK });

// A condition per seeded form keeps each expression well under DynamoDB's 4 KB.
const SEED_MAX = 50;

// DynamoDB: BatchGetItem takes 100 keys, TransactWriteItems 100 actions.
const BATCH_GET_MAX = 100;
const TRANSACT_MAX = 100;

/**
 * Form state in the one table (cursor, continuation, start mode, lease), as the poller reads and
 * writes it. The operator's queries are in operator.ts. Near 400 lines and still one thing:
 * every method is one conditional write or read of the same item, and the guards they share
 * (lease, version) are the storage half of G2.
 */
export class DynamoFormStateStore implements FormStateStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #clock: Clock | undefined;

  constructor({
    client,
    tableName,
    clock,
  }: {
    client: DynamoDBDocumentClient;
    tableName: string;
    clock?: Clock;
  }) {
    this.#client = client;
    this.#tableName = tableName;
    this.#clock = clock;
  }

  async read(formIds: readonly number[], withList: boolean): Promise<FormsRead> {
    const states = new Map<number, FormState>();
    let list: FormList | undefined;
    const keys: TableKey[] = [...(withList ? [this.#listKey()] : []), ...formIds.map(key)];
    // The list rides in the first request; the poller asks for it only where the states leave
    // it room, so that it costs no request of its own (lib/poll/poll.ts).
    for (const group of chunk(keys, BATCH_GET_MAX)) {
      const left = await drainUnprocessed(
        group,
        async (batch) => {
          const out = await this.#client.send(
            new BatchGetCommand({
              RequestItems: { [this.#tableName]: { Keys: [...batch], ConsistentRead: true } },
            }),
          );
          for (const item of out.Responses?.[this.#tableName] ?? []) {
            if (item.pk === FORM_LIST_KEY.pk) list = listFromItem(item);
            else {
              const state = fromItem(item as StateItem);
              states.set(state.formId, state);
            }
          }
          return (out.UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as TableKey[];
        },
        { clock: this.#clock },
      );
      if (left.length > 0)
        throw new StoreWriteError(`could not read the state of ${left.length} form(s)`);
    }
    return { states, ...(list !== undefined && { list }) };
  }

  async seedList(formIds: readonly number[], now: number, known?: FormList): Promise<FormList> {
    let list = known ?? (await this.read([], true)).list;
    const fresh = formIds.filter(
      (formId) =>
        !(list?.formIds.includes(formId) ?? false) && !(list?.removed.has(formId) ?? false),
    );
    // A form the operator removes meanwhile must stay removed: each seed checks it is not.
    for (const group of chunk(fresh, SEED_MAX)) {
      const names = Object.fromEntries(group.map((formId, i) => [`#f${i}`, String(formId)]));
      try {
        const out = await this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: this.#listKey(),
            UpdateExpression:
              'ADD form_ids :ids SET removed = if_not_exists(removed, :empty), updated_at = :now',
            ConditionExpression: `attribute_not_exists(removed) OR (${group
              .map((_, i) => `attribute_not_exists(removed.#f${i})`)
              .join(' AND ')})`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':ids': new Set(group), ':empty': {}, ':now': now },
            ReturnValues: 'ALL_NEW',
          }),
        );
        list = listFromItem(out.Attributes ?? {});
      } catch (error: unknown) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        list = (await this.read([], true)).list;
      }
    }
    return list ?? { formIds: [], removed: new Map() };
  }

  #listKey(): TableKey {
    return { ...FORM_LIST_KEY };
  }

  async create(
    formId: number,
    init: { cursor: number; origin: number; startMode: StartMode },
    now: number,
  ): Promise<FormState> {
    const item: StateItem = {
      ...key(formId),
      form_id: formId,
      version: 1,
      cursor: init.cursor,
      origin: init.origin,
      start_mode: init.startMode,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return fromItem(item);
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A racing run created it first; its start stands (docs/guarantees.md#g7).
      const existing = await this.get(formId);
      if (existing === undefined) throw error;
      return existing;
    }
  }

  /** The form's state, read with strong consistency. */
  async get(formId: number): Promise<FormState | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: key(formId), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : fromItem(out.Item as StateItem);
  }

  async acquireLease(
    formId: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<FormState> {
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: key(formId),
          UpdateExpression:
            'SET lease_owner = :owner, lease_until = :until, updated_at = :now ADD #version :one',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes as StateItem);
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) throw new LeaseHeldError(formId);
      throw error;
    }
  }

  async renewLease(formId: number, owner: string, until: number, now: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: key(formId),
          // The version stays: renewing changes nothing another run reads a window from.
          UpdateExpression: 'SET lease_until = :until, updated_at = :now',
          ConditionExpression: 'lease_owner = :owner AND lease_until >= :now',
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': now },
        }),
      );
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) throw new LeaseHeldError(formId);
      throw error;
    }
  }

  async commit(formId: number, guard: Guard, change: StateChange, now: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          ...this.#update(formId, guard, change, now),
        }),
      );
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) throw new StateConflictError(formId);
      throw error;
    }
  }

  async commitMany(
    items: readonly { formId: number; version: number; change: StateChange }[],
    now: number,
  ): Promise<CommitManyResult> {
    const committed = new Set<number>();
    const conflicted = new Set<number>();
    for (const group of chunk(items, TRANSACT_MAX)) {
      try {
        await this.#client.send(
          new TransactWriteCommand({
            TransactItems: group.map((item) => ({
              Update: {
                TableName: this.#tableName,
                ...this.#update(
                  item.formId,
                  { kind: 'version', version: item.version },
                  item.change,
                  now,
                ),
              },
            })),
          }),
        );
        for (const item of group) committed.add(item.formId);
      } catch (error: unknown) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // It names the items whose condition failed; the rest wait for a later request, so
        // that one stale item never costs a second request here.
        const reasons = error.CancellationReasons ?? [];
        group.forEach((item, index) => {
          if (reasons[index]?.Code === 'ConditionalCheckFailed') conflicted.add(item.formId);
        });
      }
    }
    return { committed, conflicted };
  }

  async noteError(formId: number, error: ErrorInfo): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: key(formId),
          // A new version: an idle write guarded by the old one must not erase the error.
          UpdateExpression: 'SET last_error = :error, updated_at = :now ADD #version :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':error': error, ':now': error.at, ':one': 1 },
        }),
      );
    } catch (caught: unknown) {
      if (!(caught instanceof ConditionalCheckFailedException)) throw caught;
    }
  }

  #update(formId: number, guard: Guard, change: StateChange, now: number) {
    const set = ['updated_at = :now'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':now': now, ':one': 1 };
    if (change.cursor !== undefined) {
      set.push('#cursor = :cursor');
      values[':cursor'] = change.cursor;
    }
    if (change.continuation === null) remove.push('continuation');
    else if (change.continuation !== undefined) {
      set.push('continuation = :continuation');
      values[':continuation'] = change.continuation;
    }
    if (change.error === null) remove.push('last_error');
    else if (change.error !== undefined) {
      set.push('last_error = :error');
      values[':error'] = change.error;
    }
    if (change.ok === true) set.push('last_ok_at = :now');
    if (change.recent !== undefined) {
      set.push('recent = :recent');
      values[':recent'] = change.recent;
    }
    if (change.pollEveryMs !== undefined) {
      set.push('poll_every_ms = :every');
      values[':every'] = change.pollEveryMs;
    }
    let condition: string;
    if (guard.kind === 'lease') {
      remove.push('lease_owner', 'lease_until');
      condition = 'lease_owner = :owner';
      values[':owner'] = guard.owner;
    } else {
      condition =
        '#version = :version AND (attribute_not_exists(lease_until) OR lease_until < :now)';
      values[':version'] = guard.version;
    }
    return {
      Key: key(formId),
      UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''} ADD #version :one`,
      ConditionExpression: condition,
      ExpressionAttributeNames: {
        '#version': 'version',
        ...(change.cursor !== undefined && { '#cursor': 'cursor' }),
      },
      ExpressionAttributeValues: values,
    };
  }
}

/** A form state item as the table holds it, read back. */
export function stateFromItem(item: Record<string, unknown>): FormState {
  return fromItem(item as unknown as StateItem);
}

function fromItem(item: StateItem): FormState {
  return {
    formId: item.form_id,
    version: item.version,
    cursor: item.cursor,
    origin: item.origin,
    startMode: item.start_mode,
    ...(item.continuation !== undefined && { continuation: item.continuation }),
    ...(item.lease_owner !== undefined &&
      item.lease_until !== undefined && {
        lease: { owner: item.lease_owner, until: item.lease_until },
      }),
    ...(item.last_ok_at !== undefined && { lastOkAt: item.last_ok_at }),
    ...(item.last_error !== undefined && { lastError: item.last_error }),
    ...(item.recent !== undefined && { recent: item.recent }),
    ...(item.poll_every_ms !== undefined && { pollEveryMs: item.poll_every_ms }),
  };
}

/** The form list item, read back: `form_ids` is a number set, `removed` a map id → epoch ms. */
export function listFromItem(item: Record<string, unknown>): FormList {
  const ids = item.form_ids;
  const formIds = ids instanceof Set ? [...ids].map(Number) : [];
  const removed = Object.entries((item.removed ?? {}) as Record<string, unknown>).map(
    ([formId, at]) => [Number(formId), Number(at)] as const,
  );
  return { formIds: formIds.sort((a, b) => a - b), removed: new Map(removed) };
}
