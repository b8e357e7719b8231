import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  PublishBatchCommandInput,
  PublishBatchCommandOutput,
  SNSClient,
} from '@aws-sdk/client-sns';
import {
  BUDGET_SK,
  FINDINGS_SK,
  FORM_LIST_KEY,
  STATE_SK,
  SUBMITTER_SK_PREFIX,
  TOKEN_SK,
} from '../lib/store/keys.js';

/** Requests one SDK client sent, per command, counted as the SDK sees them (retries excluded). */
export class RequestCounter {
  readonly #byCommand = new Map<string, number>();
  readonly #byPart = new Map<string, number>();
  /** Event ids SNS accepted, so a benchmark can check each was published once. */
  readonly publishedIds: string[] = [];

  add(command: string, part?: string): void {
    this.#byCommand.set(command, (this.#byCommand.get(command) ?? 0) + 1);
    if (part !== undefined) this.#byPart.set(part, (this.#byPart.get(part) ?? 0) + 1);
  }

  /** DynamoDB requests by the part of the table they touch (tablePart). */
  byPart(): Record<string, number> {
    return Object.fromEntries([...this.#byPart].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    let sum = 0;
    for (const count of this.#byCommand.values()) sum += count;
    return sum;
  }

  byCommand(): Record<string, number> {
    return Object.fromEntries([...this.#byCommand].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#byCommand.clear();
    this.#byPart.clear();
    this.publishedIds.length = 0;
  }
}

type AnyClient = DynamoDBClient | SNSClient;

/**
 * Counts every command `client` sends, through the client's own middleware stack, so the
 * numbers are the service's real requests whatever adapter sent them. A DynamoDBDocumentClient
 * shares its base client's stack, so metering the base client covers both.
 */
export function meterRequests(client: AnyClient, counter: RequestCounter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counter.add(context.commandName ?? 'unknown', tablePart(args.input));
      const result = await next(args);
      if (context.commandName === 'PublishBatchCommand') {
        recordPublished(args.input as PublishBatchCommandInput, result.output, counter);
      }
      return result;
    },
    { step: 'initialize', name: 'benchRequestCounter', override: true },
  );
}

/**
 * Answers PublishBatch in-process, every entry accepted, without a network call. Used where
 * the emulator's own cost (moto: ~50 ms per PublishBatch) would hide what is being measured;
 * the request is still counted by `meterRequests` (added before this).
 */
export function answerPublishBatchInProcess(client: SNSClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PublishBatchCommand') return next(args);
      const input = args.input as PublishBatchCommandInput;
      const output: PublishBatchCommandOutput = {
        $metadata: { httpStatusCode: 200 },
        Successful: (input.PublishBatchRequestEntries ?? []).map((entry) => ({
          Id: entry.Id,
          MessageId: randomUUID(),
        })),
        Failed: [],
      };
      return Promise.resolve({ output, response: {} });
    },
    { step: 'initialize', name: 'benchSnsInProcess', priority: 'low', override: true },
  );
}

function recordPublished(
  input: PublishBatchCommandInput,
  output: PublishBatchCommandOutput,
  counter: RequestCounter,
): void {
  const accepted = new Set((output.Successful ?? []).map((entry) => entry.Id));
  for (const entry of input.PublishBatchRequestEntries ?? []) {
    if (!accepted.has(entry.Id)) continue;
    const body = JSON.parse(entry.Message ?? '{}') as { id?: unknown };
    if (typeof body.id === 'string') counter.publishedIds.push(body.id);
  }
}

type Keyed = Record<string, unknown> | undefined;

/** A key attribute as a string, whether the document client has marshalled it yet or not. */
function keyText(key: Keyed, name: string): string {
  const value = key?.[name];
  if (typeof value === 'string') return value;
  const marshalled = (value as { S?: unknown } | undefined)?.S;
  return typeof marshalled === 'string' ? marshalled : '';
}

/** The first key a DynamoDB request names, whatever its command. */
function firstKey(input: Record<string, unknown>): Keyed {
  const single = (input.Key ?? input.Item) as Keyed;
  if (single !== undefined) return single;
  const items = input.RequestItems as Record<string, unknown> | undefined;
  const table: unknown = items === undefined ? undefined : Object.values(items)[0];
  // BatchWriteItem: a list of puts; BatchGetItem: { Keys }.
  if (Array.isArray(table)) return (table[0] as { PutRequest?: { Item: Keyed } }).PutRequest?.Item;
  if (table !== undefined) return (table as { Keys?: Keyed[] }).Keys?.[0];
  const transact = input.TransactItems as
    Record<string, { Key?: Keyed; Item?: Keyed }>[] | undefined;
  const action = transact?.[0] === undefined ? undefined : Object.values(transact[0])[0];
  return action?.Key ?? action?.Item;
}

/**
 * Which part of the table (lib/store/keys.ts) a DynamoDB request touches: `forms` (form state
 * and the form list), `ledger`, `budget` (the corp's Weiban budget), `token`, `findings`,
 * `webhooks`, or `other`. Undefined for a request that is not DynamoDB's.
 */
export function tablePart(input: unknown): string | undefined {
  if (
    typeof input !== 'object' ||
    input === null ||
    !('TableName' in input || 'RequestItems' in input || 'TransactItems' in input)
  )
    return undefined;
  const key = firstKey(input);
  const pk = keyText(key, 'pk');
  const sk = keyText(key, 'sk');
  if (sk === STATE_SK || pk === FORM_LIST_KEY.pk) return 'forms';
  if (sk.startsWith(SUBMITTER_SK_PREFIX) || sk.startsWith('R#')) return 'ledger';
  if (sk === BUDGET_SK) return 'budget';
  if (sk === TOKEN_SK) return 'token';
  if (sk === FINDINGS_SK) return 'findings';
  if (pk.startsWith('WEBHOOK#')) return 'webhooks';
  return 'other';
}
