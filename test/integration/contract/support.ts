import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { receiveAll, type ReceivedMessage } from '../../../dev/topic.js';
import { formEventSchema, type FormEvent } from '../../../lib/events.js';
import { eventSchemaValidator } from '../../support/event-schema.js';
import type { World } from '../../support/world.js';

const schemaErrors = eventSchemaValidator();

/** A consumer's queue subscribed to the world's topic, as the subscriptions param declares one. */
export interface Subscriber {
  /** Every event the queue holds now, each checked against the contract. */
  events(): Promise<FormEvent[]>;
  /** The same, with the SNS attributes each message carried. */
  messages(): Promise<ReceivedMessage[]>;
}

// moto delivers to subscribed queues inside the Publish call, so draining a queue until it
// stays empty sees every message a run published, duplicates included.

export async function subscribe(
  world: World,
  name: string,
  options: { filterPolicy?: Record<string, unknown>; rawMessageDelivery?: boolean } = {},
): Promise<Subscriber> {
  const { sns, sqs } = world.aws;
  const queueName = `${world.tableName}-${name}`;
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  if (queueUrl === undefined) throw new Error(`CreateQueue ${queueName} returned no URL`);
  const { Attributes: attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (attributes?.QueueArn === undefined) throw new Error(`${queueName} has no QueueArn`);
  await sns.send(
    new SubscribeCommand({
      TopicArn: world.topicArn,
      Protocol: 'sqs',
      Endpoint: attributes.QueueArn,
      Attributes: {
        ...(options.filterPolicy !== undefined && {
          FilterPolicy: JSON.stringify(options.filterPolicy),
        }),
        ...(options.rawMessageDelivery !== undefined && {
          RawMessageDelivery: String(options.rawMessageDelivery),
        }),
      },
    }),
  );
  const messages = async () => (await receiveAll(sqs, queueUrl, { idleMs: 500 })).map(checked);
  return {
    messages,
    events: async () => (await messages()).map((message) => message.body as FormEvent),
  };
}

/** Every message the world's own (unfiltered) queue holds now, each checked against the contract. */
export async function receivedMessages(world: World): Promise<ReceivedMessage[]> {
  return (await world.received({ idleMs: 500 })).map(checked);
}

/** The events of `receivedMessages`. */
export async function receivedEvents(world: World): Promise<FormEvent[]> {
  return (await receivedMessages(world)).map((message) => message.body as FormEvent);
}

/**
 * Asserts what every consumer is promised: the body validates against the committed JSON
 * Schema file and the zod schema, and the attributes are those of
 * docs/guarantees.md#event-attributes.
 */
function checked(message: ReceivedMessage): ReceivedMessage {
  expect(schemaErrors(message.body)).toEqual([]);
  const event = formEventSchema.parse(message.body);
  const city = event.data.user_city?.trim();
  expect(message.attributes).toEqual({
    event_type: { Type: 'String', Value: event.type },
    form_id: { Type: 'Number', Value: String(event.data.form_id) },
    ...(city !== undefined && city !== '' && { user_city: { Type: 'String', Value: city } }),
  });
  return message;
}

export const ids = (events: readonly FormEvent[]): string[] =>
  events.map((event) => event.id).sort();
