import {
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { systemClock, type Clock } from '../clock.js';
import type { EventPublisher, OutgoingMessage, PublishResult } from '../ports.js';

// SNS PublishBatch: at most 10 entries and 256 KiB in all per call.
export const BATCH_ENTRIES = 10;
export const BATCH_BYTES = 262_144;

export interface SnsPublisherOptions {
  readonly client: SNSClient;
  readonly topicArn: string;
  /** Rounds per entry, the first included; the SDK's own retries happen inside each. */
  readonly attempts?: number;
  /** PublishBatch calls in flight at once. */
  readonly concurrency?: number;
  readonly clock?: Clock;
}

/**
 * Publishes events with PublishBatch and checks every entry: what SNS refused is retried,
 * then reported as failed, never silently dropped (docs/guarantees.md#g1).
 */
export class SnsPublisher implements EventPublisher {
  readonly #client: SNSClient;
  readonly #topicArn: string;
  readonly #attempts: number;
  readonly #concurrency: number;
  readonly #clock: Clock;

  constructor(options: SnsPublisherOptions) {
    this.#client = options.client;
    this.#topicArn = options.topicArn;
    this.#attempts = options.attempts ?? 3;
    this.#concurrency = options.concurrency ?? 4;
    this.#clock = options.clock ?? systemClock;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<PublishResult> {
    const batches = toBatches(messages);
    const results: PublishResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        if (batch !== undefined) results.push(await this.#publishBatch(batch));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batches.length) }, worker));
    return {
      published: results.flatMap((result) => result.published),
      failed: results.flatMap((result) => result.failed),
    };
  }

  async #publishBatch(batch: readonly OutgoingMessage[]): Promise<PublishResult> {
    const published: string[] = [];
    const refusedForGood: { id: string; reason: string }[] = [];
    const lastReason = new Map<string, string>();
    let pending = batch;
    for (let attempt = 1; attempt <= this.#attempts && pending.length > 0; attempt += 1) {
      if (attempt > 1)
        await this.#clock.sleep(100 * 2 ** (attempt - 2) * (0.5 + Math.random() / 2));
      const entries = pending.map((message, index): PublishBatchRequestEntry => ({
        Id: `m${index}`,
        Message: message.body,
        MessageAttributes: { ...message.attributes },
      }));
      const retry: OutgoingMessage[] = [];
      try {
        const out = await this.#client.send(
          new PublishBatchCommand({
            TopicArn: this.#topicArn,
            PublishBatchRequestEntries: entries,
          }),
        );
        const sent = new Set((out.Successful ?? []).map((entry) => entry.Id));
        const refused = new Map((out.Failed ?? []).map((entry) => [entry.Id, entry]));
        pending.forEach((message, index) => {
          if (sent.has(`m${index}`)) {
            published.push(message.id);
            return;
          }
          const entry = refused.get(`m${index}`);
          const reason =
            entry === undefined
              ? 'no result for this entry'
              : `${entry.Code ?? 'Failed'}: ${entry.Message ?? ''}`;
          // SNS: SenderFault means the entry itself is wrong; sending it again cannot help.
          if (entry?.SenderFault === true) refusedForGood.push({ id: message.id, reason });
          else {
            lastReason.set(message.id, reason);
            retry.push(message);
          }
        });
      } catch (error: unknown) {
        const reason =
          error instanceof Error ? `${error.name}: ${error.message}` : 'PublishBatch failed';
        for (const message of pending) lastReason.set(message.id, reason);
        retry.push(...pending);
      }
      pending = retry;
    }
    const failed = [
      ...refusedForGood,
      ...pending.map((message) => ({
        id: message.id,
        reason: lastReason.get(message.id) ?? 'not sent',
      })),
    ];
    return { published, failed };
  }
}

/** Groups messages into PublishBatch calls that respect both the entry and the size cap. */
export function toBatches(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const batches: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function messageBytes(message: OutgoingMessage): number {
  let size = Buffer.byteLength(message.body);
  for (const [name, value] of Object.entries(message.attributes)) {
    size += Buffer.byteLength(name) + value.DataType.length + Buffer.byteLength(value.StringValue);
  }
  return size;
}
