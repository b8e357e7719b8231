import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from './queue.js';

/** One dead letter moved back, as the progress callback is told of it. */
export interface Moved {
  readonly eventId?: string;
  /** Why it had been dead-lettered (its `reason` attribute), when it says. */
  readonly reason?: string;
}

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly queueUrl: string;
  /** Starts each redriven event's attempt count again (the endpoint's `TRY#` items). */
  readonly resetAttempts?: (eventId: string) => Promise<void>;
  /** At most this many messages are moved (all by default). */
  readonly max?: number;
  /** Told of every message moved, once it is in the queue and gone from the DLQ. */
  readonly onMoved?: (moved: Moved) => void;
  /** Stops before the next message (Ctrl-C); what was moved stays moved. */
  readonly signal?: AbortSignal;
}

export interface RedriveResult {
  readonly moved: number;
  /** The event ids moved, when the bodies are events. */
  readonly eventIds: readonly string[];
  /**
   * Dead letters of events this redrive had already moved: refused again meanwhile. They are
   * left in the DLQ (moving them again would go round for as long as the receiver refuses).
   */
  readonly returned: number;
}

// How long a received dead letter stays hidden from other receivers while it is moved, or
// when it came back during this redrive (it is visible again in the DLQ after that).
const HOLD_SECONDS = 60;

/**
 * Moves dead letters back to the endpoint's queue (`webhooks redrive`): the body unchanged
 * and the event's own attributes, without the dead-letter ones. Each message is sent before it
 * is deleted from the DLQ, so a failure midway can repeat a message, never lose one; the
 * repeat carries the same `webhook-id`.
 */
export async function redrive(options: RedriveOptions): Promise<RedriveResult> {
  const { sqs, dlqUrl, queueUrl, signal } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const eventIds: string[] = [];
  const movedIds = new Set<string>();
  let moved = 0;
  let returned = 0;
  const stopped = () => signal?.aborted === true;
  while (moved < max && !stopped()) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        // Hidden from a second redrive while this one moves it.
        VisibilityTimeout: HOLD_SECONDS,
      }),
    );
    if (messages.length === 0) break;
    for (const message of messages) {
      if (stopped()) break;
      const body = message.Body ?? '';
      const id = eventIdOf(body);
      if (id !== undefined && movedIds.has(id)) {
        // Left hidden: the loop ends once only such letters are left.
        returned += 1;
        continue;
      }
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
      if (id !== undefined) {
        eventIds.push(id);
        movedIds.add(id);
      }
      const reason = message.MessageAttributes?.reason?.StringValue;
      options.onMoved?.({
        ...(id !== undefined && { eventId: id }),
        ...(reason !== undefined && { reason }),
      });
    }
  }
  return { moved, eventIds, returned };
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
