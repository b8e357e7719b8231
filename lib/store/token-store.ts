import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CachedToken, TokenStore } from '../weiban/token.js';
import { corpPk, TOKEN_SK } from './keys.js';

/** The corp's shared token and its refresh lock, one item in the table (docs/guarantees.md#g5). */
export class DynamoTokenStore implements TokenStore {
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
    this.#key = { pk: corpPk(corpId), sk: TOKEN_SK };
  }

  async read(): Promise<CachedToken | undefined> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: this.#key,
        ConsistentRead: true,
        ProjectionExpression: '#token, refresh_at',
        ExpressionAttributeNames: { '#token': 'token' },
      }),
    );
    const token: unknown = out.Item?.token;
    const refreshAt: unknown = out.Item?.refresh_at;
    return typeof token === 'string' && typeof refreshAt === 'number'
      ? { token, refreshAt }
      : undefined;
  }

  async tryLock(
    owner: string,
    until: number,
    now: number,
    bad: string | undefined,
  ): Promise<boolean> {
    const stale =
      bad === undefined
        ? '(attribute_not_exists(#token) OR refresh_at < :now)'
        : '(attribute_not_exists(#token) OR refresh_at < :now OR #token = :bad)';
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression: 'SET lock_owner = :owner, lock_until = :until',
          ConditionExpression: `(attribute_not_exists(lock_until) OR lock_until < :now) AND ${stale}`,
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': until,
            ':now': now,
            ...(bad !== undefined && { ':bad': bad }),
          },
        }),
      );
      return true;
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async save(_owner: string, token: CachedToken): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: this.#key,
        UpdateExpression:
          'SET #token = :token, refresh_at = :refreshAt REMOVE lock_owner, lock_until',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':token': token.token, ':refreshAt': token.refreshAt },
      }),
    );
  }

  async unlock(owner: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression: 'REMOVE lock_owner, lock_until',
          ConditionExpression: 'lock_owner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
