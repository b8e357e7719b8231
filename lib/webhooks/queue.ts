import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';

// SQS: ChangeMessageVisibilityBatch takes at most 10 entries.
const VISIBILITY_BATCH = 10;

/** The attributes a dead letter carries besides the event's own (docs/webhooks.md#dead-letters). */
export const DEAD_LETTER_ATTRIBUTES = ['reason', 'attempts', 'last_status', 'endpoint'] as const;

export interface DeadLetter {
  readonly dlqUrl: string;
  /** The original body, unchanged. */
  readonly body: string;
  /** The message's own attributes (the event's SNS attributes), kept for a redrive. */
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly reason: string;
  readonly attempts: number;
  readonly lastStatus: string;
  readonly endpoint: string;
}

/** The endpoint queues' I/O for the delivery: visibility changes and dead letters. */
export class SqsDeliveryQueue {
  readonly #client: SQSClient;

  constructor({ client }: { client: SQSClient }) {
    this.#client = client;
  }

  /**
   * Hides received messages for `seconds` more each (SQS: at most 12 h), ten to a call.
   * Returns the receipt handles SQS did not change; those come back after the queue's own
   * visibility timeout instead.
   */
  async delay(
    queueUrl: string,
    holds: readonly { receiptHandle: string; seconds: number }[],
  ): Promise<string[]> {
    const unchanged: string[] = [];
    for (let start = 0; start < holds.length; start += VISIBILITY_BATCH) {
      const group = holds.slice(start, start + VISIBILITY_BATCH);
      const out = await this.#client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: group.map((hold, index) => ({
            Id: String(index),
            ReceiptHandle: hold.receiptHandle,
            VisibilityTimeout: hold.seconds,
          })),
        }),
      );
      for (const failed of out.Failed ?? []) {
        const hold = group[Number(failed.Id)];
        if (hold !== undefined) unchanged.push(hold.receiptHandle);
      }
    }
    return unchanged;
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    const own = Object.fromEntries(
      Object.entries(letter.attributes).filter(
        ([name]) => !(DEAD_LETTER_ATTRIBUTES as readonly string[]).includes(name),
      ),
    );
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: letter.dlqUrl,
        MessageBody: letter.body,
        MessageAttributes: {
          ...own,
          reason: { DataType: 'String', StringValue: letter.reason.slice(0, 1000) },
          attempts: { DataType: 'Number', StringValue: String(letter.attempts) },
          last_status: { DataType: 'String', StringValue: letter.lastStatus },
          endpoint: { DataType: 'String', StringValue: letter.endpoint },
        },
      }),
    );
  }
}

/** A queue's URL from its ARN (arn:aws:sqs:region:account:name), as SQS forms it. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region ?? ''}.${domain}/${account ?? ''}/${name ?? ''}`;
}
