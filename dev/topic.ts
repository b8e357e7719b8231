import { CreateTopicCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface TopicWithQueue {
  readonly topicArn: string;
  readonly queueUrl: string;
  readonly queueArn: string;
}

/**
 * An SNS topic with an SQS queue subscribed to it (in moto): the local stand-in for the
 * events topic and one consumer. `filterPolicy` applies to message attributes.
 */
export async function createTopicWithQueue({
  sns,
  sqs,
  name,
  filterPolicy,
  rawMessageDelivery,
}: {
  sns: SNSClient;
  sqs: SQSClient;
  name: string;
  filterPolicy?: Record<string, unknown>;
  rawMessageDelivery?: boolean;
}): Promise<TopicWithQueue> {
  const { TopicArn: topicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (topicArn === undefined || queueUrl === undefined) {
    throw new Error(`CreateTopic/CreateQueue for ${name} returned no ARN or URL`);
  }
  const { Attributes: attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes?.QueueArn;
  if (queueArn === undefined)
    throw new Error(`GetQueueAttributes for ${name} returned no QueueArn`);

  const subscriptionAttributes: Record<string, string> = {};
  if (filterPolicy !== undefined)
    subscriptionAttributes.FilterPolicy = JSON.stringify(filterPolicy);
  if (rawMessageDelivery !== undefined) {
    subscriptionAttributes.RawMessageDelivery = String(rawMessageDelivery);
  }
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: queueArn,
      Attributes: subscriptionAttributes,
      ReturnSubscriptionArn: true,
    }),
  );
  return { topicArn, queueUrl, queueArn };
}

/** A message as a subscriber sees it: the SNS envelope parsed, plus the SQS message. */
export interface ReceivedMessage {
  /** The SNS `Message` field, JSON-parsed (the raw body when delivery is raw). */
  readonly body: unknown;
  /** SNS message attributes, e.g. `{ form_id: { Type: 'Number', Value: '842' } }`. */
  readonly attributes: Readonly<Record<string, { Type: string; Value: string }>>;
  readonly raw: Message;
}

/**
 * Receives and deletes messages until `expected` have arrived (then stops) or a long poll has
 * come back empty once the queue has been quiet for `idleMs`. Returns them in arrival order.
 * The quiet time starts after the last batch is deleted, and a batch is always followed by
 * another look: a slow delete never ends the drain with messages still queued.
 */
export async function receiveAll(
  sqs: SQSClient,
  queueUrl: string,
  { expected, idleMs = 2_000 }: { expected?: number; idleMs?: number } = {},
): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  let quietSince = Date.now();
  while (expected === undefined || received.length < expected) {
    const quietLeftMs = idleMs - (Date.now() - quietSince);
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        // Always a long poll, even for a short look: "no message" must mean none arrived.
        WaitTimeSeconds: Math.min(20, Math.max(1, Math.ceil(quietLeftMs / 1000))),
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (messages.length === 0) {
      if (Date.now() - quietSince >= idleMs) break;
      continue;
    }
    received.push(...messages.map(parseMessage));
    const entries = messages.flatMap((message, index) =>
      message.ReceiptHandle === undefined
        ? []
        : [{ Id: String(index), ReceiptHandle: message.ReceiptHandle }],
    );
    if (entries.length > 0) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
    quietSince = Date.now();
  }
  return received;
}

function parseMessage(message: Message): ReceivedMessage {
  const body = message.Body ?? '';
  const envelope = parseJson(body);
  if (isSnsEnvelope(envelope)) {
    return {
      body: parseJson(envelope.Message),
      attributes: envelopeAttributes(envelope.MessageAttributes),
      raw: message,
    };
  }
  // Raw delivery: the body is the message itself and the attributes are SQS attributes.
  const attributes: Record<string, { Type: string; Value: string }> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = { Type: value.DataType ?? 'String', Value: value.StringValue ?? '' };
  }
  return { body: envelope, attributes, raw: message };
}

interface SnsEnvelope {
  Type: string;
  Message: string;
  MessageAttributes?: unknown;
}

function isSnsEnvelope(value: unknown): value is SnsEnvelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    'Type' in value &&
    value.Type === 'Notification' &&
    'Message' in value &&
    typeof value.Message === 'string'
  );
}

function envelopeAttributes(value: unknown): Record<string, { Type: string; Value: string }> {
  const attributes: Record<string, { Type: string; Value: string }> = {};
  if (typeof value !== 'object' || value === null) return attributes;
  for (const [name, attribute] of Object.entries(value as Record<string, unknown>)) {
    if (
      typeof attribute === 'object' &&
      attribute !== null &&
      'Type' in attribute &&
      'Value' in attribute &&
      typeof attribute.Type === 'string' &&
      typeof attribute.Value === 'string'
    ) {
      attributes[name] = { Type: attribute.Type, Value: attribute.Value };
    }
  }
  return attributes;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
