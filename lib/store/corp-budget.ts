import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  HANDOVER_MS,
  type BudgetHolder,
  type BudgetRecord,
  type BudgetStore,
  type Claim,
  type EndpointBlock,
} from '../weiban/budget.js';
import type { SharedSends } from '../weiban/send-log.js';
import { BUDGET_SK, corpPk } from './keys.js';

// The record matters for an hour of sends and a day of blocks; TTL tidies it away after that.
const KEEP_S = 2 * 86_400;

interface HolderItem {
  owner: string;
  label: string;
  send_until: number;
  until: number;
  quota: number;
}

/**
 * The corp's Weiban budget as one item: who may send now, what was sent in the last hour, who
 * waits, and the blocks (docs/guarantees.md#g4). Every caller of the corp reads and writes it.
 */
export class DynamoCorpBudget implements BudgetStore {
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
    this.#key = { pk: corpPk(corpId), sk: BUDGET_SK };
  }

  async claim(holder: BudgetHolder, now: number): Promise<Claim> {
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          // Both maps exist from the first claim on, so waiters and blocks can set one entry.
          UpdateExpression:
            'SET holder = :holder, waiting = if_not_exists(waiting, :empty), ' +
            'blocks = if_not_exists(blocks, :empty), updated_at = :now, expires_at = :expires ' +
            'REMOVE handed_to',
          // Free, or its holder's time is up; and not handed to another caller who waited.
          ConditionExpression:
            '(attribute_not_exists(holder) OR holder.#until <= :now OR holder.#owner = :owner) AND ' +
            '(attribute_not_exists(handed_to) OR handed_to.#owner = :owner OR handed_to.#until <= :now)',
          ExpressionAttributeNames: { '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':holder': toHolderItem(holder),
            ':empty': {},
            ':now': now,
            ':owner': holder.owner,
            ':expires': expiresAt(now),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return {
        claimed: true,
        before: out.Attributes === undefined ? undefined : fromItem(out.Attributes),
      };
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.read();
      // Released between the refused claim and the read: an empty record says "try again".
      return { claimed: false, current: current ?? { waiting: {}, sends: EMPTY, blocks: {} } };
    }
  }

  async renew(
    holder: BudgetHolder,
    sends: SharedSends,
    now: number,
  ): Promise<BudgetRecord | undefined> {
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression:
            'SET holder = :holder, sends = :sends, writer = :owner, updated_at = :now, expires_at = :expires',
          ConditionExpression: 'holder.#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':holder': toHolderItem(holder),
            ':sends': encodeSends(sends),
            ':owner': holder.owner,
            ':now': now,
            ':expires': expiresAt(now),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? undefined : fromItem(out.Attributes);
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async release(
    owner: string,
    sends: SharedSends,
    keepUntil: number | undefined,
    now: number,
    handTo?: string,
  ): Promise<void> {
    const keep = keepUntil !== undefined && keepUntil > now;
    const set = ['sends = :sends', 'writer = :owner', 'updated_at = :now'];
    if (keep) set.push('holder.send_until = :now', 'holder.#until = :keep', 'holder.quota = :zero');
    if (handTo !== undefined) set.push('handed_to = :next');
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression: `SET ${set.join(', ')}${keep ? '' : ' REMOVE holder'}`,
          ConditionExpression: 'holder.#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', ...(keep && { '#until': 'until' }) },
          ExpressionAttributeValues: {
            ':sends': encodeSends(sends),
            ':owner': owner,
            ':now': now,
            ...(keep && { ':keep': keepUntil, ':zero': 0 }),
            ...(handTo !== undefined && {
              ':next': { owner: handTo, until: Math.max(now, keepUntil ?? now) + HANDOVER_MS },
            }),
          },
        }),
      );
    } catch (error: unknown) {
      // The hold had lapsed and another caller took the budget: it counted this one's quota.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async wait(owner: string, until: number): Promise<void> {
    await this.#client
      .send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression: 'SET waiting.#owner = :until',
          ConditionExpression: 'attribute_exists(waiting)',
          ExpressionAttributeNames: { '#owner': owner },
          ExpressionAttributeValues: { ':until': until },
        }),
      )
      .catch((error: unknown) => {
        // No record yet means nobody holds the budget: there is nothing to wait for.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async read(): Promise<BudgetRecord | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: this.#key, ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : fromItem(out.Item);
  }

  async block(endpoint: string, block: EndpointBlock): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: this.#key,
        UpdateExpression: 'SET blocks.#endpoint = :block',
        ConditionExpression: 'attribute_exists(blocks)',
        ExpressionAttributeNames: { '#endpoint': endpoint },
        ExpressionAttributeValues: { ':block': { until: block.until, level: block.level } },
      }),
    );
  }
}

const EMPTY: SharedSends = { seconds: {}, minutes: {} };

const expiresAt = (now: number) => Math.floor(now / 1000) + KEEP_S;

function toHolderItem(holder: BudgetHolder): HolderItem {
  return {
    owner: holder.owner,
    label: holder.label,
    send_until: holder.sendUntil,
    until: holder.until,
    quota: holder.quota,
  };
}

function fromItem(item: Record<string, unknown>): BudgetRecord {
  const holder = item.holder as Partial<HolderItem> | undefined;
  return {
    ...(holder?.owner !== undefined && {
      holder: {
        owner: holder.owner,
        label: holder.label ?? '',
        sendUntil: Number(holder.send_until),
        until: Number(holder.until),
        quota: holder.quota ?? 0,
      },
    }),
    ...(typeof item.writer === 'string' && { writer: item.writer }),
    ...(isNext(item.handed_to) && {
      next: { owner: item.handed_to.owner, until: Number(item.handed_to.until) },
    }),
    waiting: numbers(item.waiting),
    sends: typeof item.sends === 'string' ? decodeSends(item.sends) : EMPTY,
    blocks: Object.fromEntries(
      Object.entries(
        (item.blocks ?? {}) as Record<string, { until?: unknown; level?: unknown }>,
      ).map(([endpoint, block]) => [
        endpoint,
        { until: Number(block.until), level: Number(block.level) },
      ]),
    ),
  };
}

function isNext(value: unknown): value is { owner: string; until: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'owner' in value &&
    typeof value.owner === 'string' &&
    'until' in value
  );
}

function numbers(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).map(([key, n]) => [key, Number(n)]));
}

/**
 * Sends as one compact string: `endpoint|s|base|offset:count,…|m|base|offset:count,…`, one line
 * per endpoint. A busy minute stays under 1 KB per endpoint, so a write costs one or two WCU.
 */
export function encodeSends(sends: SharedSends): string {
  const endpoints = new Set([...Object.keys(sends.seconds), ...Object.keys(sends.minutes)]);
  return [...endpoints]
    .map((endpoint) =>
      [
        endpoint,
        's',
        ...packed(sends.seconds[endpoint]),
        'm',
        ...packed(sends.minutes[endpoint]),
      ].join('|'),
    )
    .join('\n');
}

export function decodeSends(text: string): SharedSends {
  const seconds: Record<string, Record<string, number>> = {};
  const minutes: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const [endpoint, s, sBase, sPairs, m, mBase, mPairs] = line.split('|');
    if (endpoint === undefined || endpoint === '' || s !== 's' || m !== 'm') continue;
    seconds[endpoint] = unpacked(sBase, sPairs);
    minutes[endpoint] = unpacked(mBase, mPairs);
  }
  return { seconds, minutes };
}

function packed(buckets: Readonly<Record<string, number>> | undefined): [string, string] {
  const entries = Object.entries(buckets ?? {}).map(([at, n]) => [Number(at), n] as const);
  if (entries.length === 0) return ['0', ''];
  const base = Math.min(...entries.map(([at]) => at));
  return [String(base), entries.map(([at, n]) => `${at - base}:${n}`).join(',')];
}

function unpacked(base: string | undefined, pairs: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (pairs === undefined || pairs === '') return out;
  const start = Number(base);
  for (const pair of pairs.split(',')) {
    const [offset, count] = pair.split(':').map(Number);
    if (offset === undefined || count === undefined || !Number.isFinite(offset + count)) continue;
    out[String(start + offset)] = count;
  }
  return out;
}
