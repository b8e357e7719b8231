import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.js';
import { StoreWriteError } from '../errors.js';
import type { RecordedSubmitter, SubmitterLedger, SubmitterRecord } from '../ports.js';
import { formPk, submitterSk, uIdFromSk } from './keys.js';
import { chunk, drainUnprocessed } from './retry.js';

// DynamoDB: BatchGetItem takes 100 keys, BatchWriteItem 25 puts.
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
const DAY_S = 86_400;

type Key = { pk: string; sk: string };

/** One dedupe record per (form_id, u_id), kept RETENTION_DAYS by TTL and never capped by count (spec S). */
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
                  ProjectionExpression: 'sk, submit_at',
                },
              },
            }),
          );
          for (const item of out.Responses?.[this.#tableName] ?? []) {
            found.set(uIdFromSk(String(item.sk)), { submitAt: Number(item.submit_at) });
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

  async record(formId: number, records: readonly SubmitterRecord[], now: number): Promise<void> {
    const nowS = Math.floor(now / 1000);
    const puts = records.map((record) => ({
      PutRequest: {
        Item: {
          pk: formPk(formId),
          sk: submitterSk(record.uId),
          form_id: formId,
          u_id: record.uId,
          submit_at: record.submitAt,
          event: record.event,
          recorded_at: nowS,
          expires_at: nowS + this.#retentionDays * DAY_S,
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
  }
}
