import {
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import pMap from 'p-map';
import { backoffMs } from '../backoff.js';
import { systemClock, type Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { EventPublisher, OutgoingMessage, PublishResult } from '../ports.js';
import { messageBytes } from './message.js';

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
    const results = await pMap(toBatches(messages), (batch) => this.#publishBatch(batch), {
      concurrency: this.#concurrency,
    });
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
      if (attempt > 1) await this.#clock.sleep(backoffMs(attempt - 1, { baseMs: 100 }));
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
        const reason = describeError(error);
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
