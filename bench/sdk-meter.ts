import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  PublishBatchCommandInput,
  PublishBatchCommandOutput,
  SNSClient,
} from '@aws-sdk/client-sns';

/** Requests one SDK client sent, per command, counted as the SDK sees them (retries excluded). */
export class RequestCounter {
  readonly #byCommand = new Map<string, number>();
  /** Event ids SNS accepted, so a benchmark can check each was published once. */
  readonly publishedIds: string[] = [];

  add(command: string): void {
    this.#byCommand.set(command, (this.#byCommand.get(command) ?? 0) + 1);
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
      counter.add(context.commandName ?? 'unknown');
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
