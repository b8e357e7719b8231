import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.js';
import { StoreWriteError } from '../errors.js';
import type { Window } from '../model.js';
import type { RecordedSubmitter, SubmitterLedger, SubmitterRecord } from '../ports.js';
import {
  BY_SUBMIT_AT_INDEX,
  formPk,
  resubmissionSk,
  SUBMITTER_SK_PREFIX,
  submitterSk,
  uIdFromSk,
} from './keys.js';
import { chunk, drainUnprocessed } from './retry.js';

// DynamoDB: BatchGetItem takes 100 keys, BatchWriteItem 25 puts.
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
// Resubmitters' records move forward one UpdateItem each; resubmissions are rare.
const UPDATES_IN_FLIGHT = 10;
const DAY_S = 86_400;

type Key = { pk: string; sk: string };

/**
 * One dedupe record per (form_id, u_id), kept RETENTION_DAYS by TTL and never capped by count
 * (docs/guarantees.md#storage). It keeps the first submission's event and `submit_at` (by_submit_at
 * replays it at its own time); `last_submit_at` tracks resubmissions, whose events sit beside it
 * (`R#`).
 */
export class DynamoSubmitterLedger implements SubmitterLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #retentionDays: number;
  readonly #clock: Clock | undefined;

  constructor(options: {
    client: DynamoDBDocumentClient;
    tableName: string;
    retentionDays: number;
    clock?: Clock;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#retentionDays = options.retentionDays;
    this.#clock = options.clock;
  }

  async lookup(formId: number, uIds: readonly number[]): Promise<Map<number, RecordedSubmitter>> {
    const found = new Map<number, RecordedSubmitter>();
    const keys = [...new Set(uIds)].map((uId): Key => ({
      pk: formPk(formId),
      sk: submitterSk(uId),
    }));
    for (const group of chunk(keys, BATCH_GET_MAX)) {
      const left = await drainUnprocessed(
        group,
        async (batch) => {
          const out = await this.#client.send(
            new BatchGetCommand({
              RequestItems: {
                [this.#tableName]: {
                  Keys: [...batch],
                  ConsistentRead: true,
                  ProjectionExpression: 'sk, submit_at, last_submit_at',
                },
              },
            }),
          );
          for (const item of out.Responses?.[this.#tableName] ?? []) {
            const submitAt = Math.max(Number(item.submit_at), Number(item.last_submit_at ?? 0));
            found.set(uIdFromSk(String(item.sk)), { submitAt });
          }
          return (out.UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as Key[];
        },
        { clock: this.#clock },
      );
      // Unknown is not "new": publishing on a guess could duplicate, so the run stops here.
      if (left.length > 0)
        throw new StoreWriteError(
          `could not read ${left.length} dedupe record(s) of form ${formId}`,
        );
    }
    return found;
  }

  /**
   * Records published events. A first submission gets its dedupe record. A resubmission's event
   * is stored beside it, then the record's `last_submit_at` moves forward; in that order, so a
   * record never claims an event that is not stored.
   */
  async record(formId: number, records: readonly SubmitterRecord[], now: number): Promise<void> {
    const nowS = Math.floor(now / 1000);
    const expiresAt = nowS + this.#retentionDays * DAY_S;
    const puts = records.map((record) => ({
      PutRequest: {
        Item: {
          pk: formPk(formId),
          form_id: formId,
          u_id: record.uId,
          event: record.event,
          recorded_at: nowS,
          expires_at: expiresAt,
          // No `submit_at` on a resubmission: it stays out of by_submit_at, which lists
          // submitter records only.
          ...(record.resubmitted === true
            ? { sk: resubmissionSk(record.uId, record.submitAt), resubmit_at: record.submitAt }
            : { sk: submitterSk(record.uId), submit_at: record.submitAt }),
        },
      },
    }));
    let unwritten = 0;
    for (const group of chunk(puts, BATCH_WRITE_MAX)) {
      const left = await drainUnprocessed(
        group,
        async (batch) => {
          const out = await this.#client.send(
            new BatchWriteCommand({ RequestItems: { [this.#tableName]: [...batch] } }),
          );
          return (out.UnprocessedItems?.[this.#tableName] ?? []) as typeof group;
        },
        { clock: this.#clock },
      );
      unwritten += left.length;
    }
    if (unwritten > 0) {
      throw new StoreWriteError(
        `${unwritten} published submitter(s) of form ${formId} could not be recorded`,
      );
    }
    const resubmitted = records.filter((record) => record.resubmitted === true);
    for (const group of chunk(resubmitted, UPDATES_IN_FLIGHT)) {
      await Promise.all(
        group.map((record) => this.#advance(formId, record.uId, record.submitAt, expiresAt)),
      );
    }
  }

  // The dedupe record learns the resubmission, so it is never published twice
  // (docs/guarantees.md#g2).
  async #advance(formId: number, uId: number, submitAt: number, expiresAt: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: formPk(formId), sk: submitterSk(uId) },
          UpdateExpression: 'SET last_submit_at = :at, expires_at = :expires',
          ConditionExpression:
            'submit_at < :at AND (attribute_not_exists(last_submit_at) OR last_submit_at < :at)',
          ExpressionAttributeValues: { ':at': submitAt, ':expires': expiresAt },
        }),
      );
    } catch (error: unknown) {
      // Already at this submit_at or later: another run recorded it (or a newer one) first.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** How many submitters the form has recorded: a COUNT query over its partition. */
  count(formId: number): Promise<number> {
    return this.#count({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': formPk(formId), ':prefix': SUBMITTER_SK_PREFIX },
    });
  }

  /** How many recorded submitters of the form have `submit_at` in `range` (index by_submit_at). */
  countBySubmitAt(formId: number, range: Window): Promise<number> {
    return this.#count(bySubmitAtQuery(formId, range));
  }

  /** One recorded submitter with the event that was published for it. */
  async get(formId: number, uId: number): Promise<SubmitterRecord | undefined> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: formPk(formId), sk: submitterSk(uId) },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : toRecord(out.Item);
  }

  /**
   * The form's recorded submitters with `submit_at` in `range`, oldest first, one DynamoDB page
   * at a time, each with the event published for it. For replay (index by_submit_at).
   */
  async *bySubmitAt(formId: number, range: Window): AsyncGenerator<SubmitterRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          ...bySubmitAtQuery(formId, range),
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      const records = (out.Items ?? []).map(toRecord);
      if (records.length > 0) yield records;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async #count(
    query: Pick<
      QueryCommandInput,
      'IndexName' | 'KeyConditionExpression' | 'ExpressionAttributeValues'
    >,
  ): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          ...query,
          Select: 'COUNT',
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      total += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return total;
  }
}

function bySubmitAtQuery(formId: number, range: Window) {
  return {
    IndexName: BY_SUBMIT_AT_INDEX,
    KeyConditionExpression: 'pk = :pk AND submit_at BETWEEN :start AND :end',
    ExpressionAttributeValues: {
      ':pk': formPk(formId),
      ':start': range.start,
      ':end': range.end,
    },
  };
}

function toRecord(item: Record<string, unknown>): SubmitterRecord {
  return {
    uId: uIdFromSk(String(item.sk)),
    submitAt: Number(item.submit_at),
    event: String(item.event),
  };
}
