import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.js';
import { StoreWriteError } from '../errors.js';
import { chunk, drainUnprocessed } from './retry.js';
import { trySk, webhookLogPk, webhookLogSk, webhookPk } from './keys.js';

const DAY_S = 86_400;
const TRY_TTL_S = 14 * DAY_S;
const LOG_TTL_S = 7 * DAY_S;
// DynamoDB: BatchGetItem takes at most 100 keys, BatchWriteItem 25 writes.
const GET_KEYS = 100;
const WRITE_ITEMS = 25;

type Key = { pk: string; sk: string };
type Put = { PutRequest: { Item: Record<string, unknown> } };

/** One attempt to deliver one event, as `webhooks log` shows it. */
export interface AttemptRecord {
  readonly eventId: string;
  readonly atMs: number;
  /** The attempt's number for this event, 1-based. */
  readonly attempt: number;
  /** The HTTP status, or the failure kind when there was none (timeout, network, refused…). */
  readonly status: string;
  /** The robot's answer code, for robots that answered with one. */
  readonly code?: number;
  readonly latencyMs: number;
  /** The first bytes of the answer, secrets masked. */
  readonly answer: string;
  readonly outcome: 'delivered' | 'retry' | 'dead';
  readonly reason?: string;
  /** How many events the message carried (more than 1 for a digest). */
  readonly events: number;
}

/**
 * Attempt counts (`WEBHOOK#{name}` / `TRY#{event id}`) and the attempt log
 * (`WEBHOOK#{name}#LOG`) for the delivery path. Only attempts are counted here: a send the
 * rate window deferred never reaches this store.
 */
export class DynamoWebhookAttempts {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #clock: Clock;

  constructor({
    client,
    tableName,
    clock,
  }: {
    client: DynamoDBDocumentClient;
    tableName: string;
    clock: Clock;
  }) {
    this.#client = client;
    this.#tableName = tableName;
    this.#clock = clock;
  }

  /** Attempts made so far for each event (0 for one never tried). */
  async counts(endpoint: string, eventIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map(eventIds.map((id) => [id, 0]));
    const pk = webhookPk(endpoint);
    for (const ids of chunk([...new Set(eventIds)], GET_KEYS)) {
      const left = await drainUnprocessed(
        ids.map((id): Key => ({ pk, sk: trySk(id) })),
        async (keys) => {
          const out = await this.#client.send(
            new BatchGetCommand({
              RequestItems: { [this.#tableName]: { Keys: [...keys], ConsistentRead: true } },
            }),
          );
          for (const item of out.Responses?.[this.#tableName] ?? []) {
            const id = typeof item.event_id === 'string' ? item.event_id : undefined;
            const attempts: unknown = item.attempts;
            if (id !== undefined && typeof attempts === 'number') counts.set(id, attempts);
          }
          return (out.UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as Key[];
        },
        { clock: this.#clock },
      );
      if (left.length > 0) throw new StoreWriteError(`${left.length} attempt count(s) unread`);
    }
    return counts;
  }

  /** Counts one more failed attempt for an event and returns the attempts made so far. */
  async countFailure(endpoint: string, eventId: string): Promise<number> {
    const out = await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: { pk: webhookPk(endpoint), sk: trySk(eventId) },
        UpdateExpression: 'ADD attempts :one SET event_id = :id, expires_at = :expires',
        ExpressionAttributeValues: {
          ':one': 1,
          ':id': eventId,
          ':expires': Math.floor(this.#clock.now() / 1000) + TRY_TTL_S,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const attempts: unknown = out.Attributes?.attempts;
    return typeof attempts === 'number' ? attempts : 1;
  }

  /** Starts an event's count again, e.g. when an operator redrives it from the DLQ. */
  async reset(endpoint: string, eventId: string): Promise<void> {
    await this.#client.send(
      new DeleteCommand({
        TableName: this.#tableName,
        Key: { pk: webhookPk(endpoint), sk: trySk(eventId) },
      }),
    );
  }

  /** Writes the attempt log entries (7 days by TTL). */
  async log(endpoint: string, records: readonly AttemptRecord[]): Promise<void> {
    const pk = webhookLogPk(endpoint);
    const puts = records.map((record): Put => ({
      PutRequest: {
        Item: {
          pk,
          sk: webhookLogSk(record.atMs, record.eventId),
          event_id: record.eventId,
          at: record.atMs,
          attempt: record.attempt,
          status: record.status,
          ...(record.code !== undefined && { code: record.code }),
          latency_ms: record.latencyMs,
          answer: record.answer,
          outcome: record.outcome,
          ...(record.reason !== undefined && { reason: record.reason }),
          events: record.events,
          expires_at: Math.floor(record.atMs / 1000) + LOG_TTL_S,
        },
      },
    }));
    for (const batch of chunk(puts, WRITE_ITEMS)) {
      const left = await drainUnprocessed(
        batch,
        async (items) => {
          const out = await this.#client.send(
            new BatchWriteCommand({ RequestItems: { [this.#tableName]: [...items] } }),
          );
          return (out.UnprocessedItems?.[this.#tableName] ?? []) as Put[];
        },
        { clock: this.#clock },
      );
      if (left.length > 0)
        throw new StoreWriteError(`${left.length} attempt log entries unwritten`);
    }
  }
}
