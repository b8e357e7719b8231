import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from './queue.js';

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly queueUrl: string;
  /** Starts each redriven event's attempt count again (the endpoint's `TRY#` items). */
  readonly resetAttempts?: (eventId: string) => Promise<void>;
  /** At most this many messages are moved (all by default). */
  readonly max?: number;
}

export interface RedriveResult {
  readonly moved: number;
  /** The event ids moved, when the bodies are events. */
  readonly eventIds: readonly string[];
}

/**
 * Moves dead letters back to the endpoint's queue (`webhooks redrive`): the body unchanged
 * and the event's own attributes, without the dead-letter ones. Each message is sent before it
 * is deleted from the DLQ, so a failure midway can repeat a message, never lose one; the
 * repeat carries the same `webhook-id`.
 */
export async function redrive(options: RedriveOptions): Promise<RedriveResult> {
  const { sqs, dlqUrl, queueUrl } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const eventIds: string[] = [];
  let moved = 0;
  while (moved < max) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        // Hidden from a second redrive while this one moves it.
        VisibilityTimeout: 60,
      }),
    );
    if (messages.length === 0) break;
    for (const message of messages) {
      const body = message.Body ?? '';
      const id = eventIdOf(body);
      if (id !== undefined) await options.resetAttempts?.(id);
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageAttributes: ownAttributes(message.MessageAttributes ?? {}),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      moved += 1;
      if (id !== undefined) eventIds.push(id);
    }
  }
  return { moved, eventIds };
}

function ownAttributes(
  attributes: Record<string, MessageAttributeValue>,
): Record<string, MessageAttributeValue> {
  const own: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if ((DEAD_LETTER_ATTRIBUTES as readonly string[]).includes(name)) continue;
    own[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined && { StringValue: value.StringValue }),
      ...(value.BinaryValue !== undefined && { BinaryValue: value.BinaryValue }),
    };
  }
  return own;
}

function eventIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
      return typeof parsed.id === 'string' ? parsed.id : undefined;
    }
  } catch {
    // not an event: moved all the same
  }
  return undefined;
}
