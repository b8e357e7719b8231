import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.js';
import { StoreWriteError } from '../errors.js';
import type { RecordedSubmitter, SubmitterLedger, SubmitterRecord } from '../ports.js';
import { formPk, resubmissionSk, submitterSk, uIdFromSk } from './keys.js';
import { chunk, drainUnprocessed } from './retry.js';

// DynamoDB: BatchGetItem takes 100 keys, BatchWriteItem 25 puts.
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
// Resubmitters' records move forward one UpdateItem each; resubmissions are rare.
const UPDATES_IN_FLIGHT = 10;
const DAY_S = 86_400;

type Key = { pk: string; sk: string };

/**
 * The poller's side of the dedupe records: which submitters are recorded, and recording new
 * ones (operator.ts reads them for replay and counts). One dedupe record per (form_id, u_id), kept RETENTION_DAYS by TTL and never capped by count
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
}
