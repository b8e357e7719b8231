import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { backoffMs } from '../backoff.js';
import type { Clock } from '../clock.js';
import { StoreWriteError } from '../errors.js';
import {
  EMPTY_WINDOW,
  freeSlots,
  nextFreeAt,
  recent,
  take,
  upcomingSlots,
  type RateLimits,
  type WindowState,
} from '../webhooks/rate-window.js';
import { RATE_SK, webhookPk } from './keys.js';

/** How often a take is tried again when another sender wrote the window in between. */
const CONFLICT_TRIES = 10;
const HOUR_S = 3_600;

/** What a take got: sends granted now, and when the next one would be allowed. */
export interface Grant {
  readonly granted: number;
  readonly nextAt: number;
}

/**
 * An endpoint's send window in the table (`WEBHOOK#{name}` / `RATE`), shared by every sender:
 * concurrent deliver invocations and the CLI. Each take is a conditional write on a version,
 * so two senders can never both take the last slot.
 */
export class DynamoWebhookRate {
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

  /** Sends allowed now, and when the next is allowed if none is. */
  async peek(endpoint: string, limits: RateLimits): Promise<{ free: number; nextAt: number }> {
    const { state } = await this.#read(endpoint);
    const now = this.#clock.now();
    return { free: freeSlots(state, limits, now), nextAt: nextFreeAt(state, limits, now) };
  }

  /** When the next `count` sends would be allowed, if nothing else were sent meanwhile. */
  async slots(endpoint: string, limits: RateLimits, count: number): Promise<number[]> {
    const { state } = await this.#read(endpoint);
    return upcomingSlots(state, limits, this.#clock.now(), count);
  }

  /** Takes up to `wanted` sends now. */
  async take(endpoint: string, limits: RateLimits, wanted = 1): Promise<Grant> {
    for (let tryNo = 1; ; tryNo += 1) {
      const { state, version } = await this.#read(endpoint);
      const now = this.#clock.now();
      const taken = take(state, limits, now, wanted);
      if (taken.granted === 0) return { granted: 0, nextAt: nextFreeAt(state, limits, now) };
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: {
              pk: webhookPk(endpoint),
              sk: RATE_SK,
              sent: [...taken.state.sent].sort((a, b) => a - b),
              blocked_until: taken.state.blockedUntil,
              version: version + 1,
              expires_at: Math.floor(now / 1000) + HOUR_S,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR version = :version',
            ExpressionAttributeValues: { ':version': version },
          }),
        );
        return { granted: taken.granted, nextAt: nextFreeAt(taken.state, limits, now) };
      } catch (error: unknown) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (tryNo >= CONFLICT_TRIES) {
          throw new StoreWriteError(`the ${endpoint} send window stayed contended`);
        }
        await this.#clock.sleep(backoffMs(tryNo, { baseMs: 10, maxMs: 200 }));
      }
    }
  }

  /** Sends nothing to the endpoint before `until` (a throttle answer, a Retry-After). */
  async block(endpoint: string, until: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: webhookPk(endpoint), sk: RATE_SK },
          // The version moves too, so a take that read the window before the block retries.
          UpdateExpression:
            'SET blocked_until = :until, version = if_not_exists(version, :zero) + :one, ' +
            'expires_at = :expires',
          ConditionExpression: 'attribute_not_exists(blocked_until) OR blocked_until < :until',
          ExpressionAttributeValues: {
            ':until': until,
            ':zero': 0,
            ':one': 1,
            ':expires': Math.floor(until / 1000) + HOUR_S,
          },
        }),
      );
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) return; // blocked longer already
      throw error;
    }
  }

  async #read(endpoint: string): Promise<{ state: WindowState; version: number }> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: webhookPk(endpoint), sk: RATE_SK },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    if (item === undefined) return { state: EMPTY_WINDOW, version: 0 };
    const sent: unknown = item.sent;
    const blocked: unknown = item.blocked_until;
    const version: unknown = item.version;
    const state: WindowState = {
      sent: Array.isArray(sent) ? sent.filter((at): at is number => typeof at === 'number') : [],
      blockedUntil: typeof blocked === 'number' ? blocked : 0,
    };
    return {
      state: { ...state, sent: recent(state, this.#clock.now()) },
      version: typeof version === 'number' ? version : 0,
    };
  }
}
