import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LimiterSnapshot } from '../weiban/limiter.js';
import { corpPk, RATE_SK } from './keys.js';

/**
 * The corp's recent Weiban sends and blocks, kept so that a new container paces itself
 * against what the last one did in the same minute (docs/guarantees.md#g4).
 */
export class DynamoRateLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #key: { pk: string; sk: string };

  constructor({
    client,
    tableName,
    corpId,
  }: {
    client: DynamoDBDocumentClient;
    tableName: string;
    corpId: string;
  }) {
    this.#client = client;
    this.#tableName = tableName;
    this.#key = { pk: corpPk(corpId), sk: RATE_SK };
  }

  async load(): Promise<LimiterSnapshot | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: this.#key, ConsistentRead: true }),
    );
    const sent: unknown = out.Item?.sent;
    const blockedUntil: unknown = out.Item?.blocked_until;
    if (!isRecordOf(sent, isNumberList) || !isRecordOf(blockedUntil, isNumber)) return undefined;
    return { sent, blockedUntil };
  }

  async save(snapshot: LimiterSnapshot, now: number): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: this.#key,
        UpdateExpression:
          'SET sent = :sent, blocked_until = :blocked, updated_at = :now, expires_at = :expires',
        ExpressionAttributeValues: {
          ':sent': snapshot.sent,
          ':blocked': snapshot.blockedUntil,
          ':now': now,
          // Stale after a minute anyway; TTL tidies it away.
          ':expires': Math.floor(now / 1000) + 3_600,
        },
      }),
    );
  }
}

const isNumber = (value: unknown): value is number => typeof value === 'number';
const isNumberList = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every(isNumber);

function isRecordOf<T>(
  value: unknown,
  check: (item: unknown) => item is T,
): value is Record<string, T> {
  return typeof value === 'object' && value !== null && Object.values(value).every(check);
}
