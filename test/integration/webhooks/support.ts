import { randomBytes, randomUUID } from 'node:crypto';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { inject, vi } from 'vitest';
import { LocalEventSource, type DrainResult } from '../../../dev/event-source.js';
import type { RobotFake, StandardReceiver } from '../../../dev/receivers/index.js';
import { createTable } from '../../../dev/table.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { loadDeliverConfig } from '../../../lib/config.js';
import { toMessage, type FormEvent } from '../../../lib/events.js';
import { SnsPublisher } from '../../../lib/publish/sns.js';
import { deliverHandler } from '../../../lib/webhooks/handler.js';
import type { Format } from '../../../lib/webhooks/endpoints.js';
import { createDeliverService, type DeliverService } from '../../../lib/webhooks/service.js';
import { awsClients, type AwsClients } from '../../support/aws.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A Standard Webhooks secret made for one test run. */
export const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

export interface EndpointSpec {
  readonly name: string;
  readonly format: Format;
  readonly receiver: StandardReceiver | RobotFake;
  /** The standard endpoint's secret(s) as stored in SSM, or a robot's signing secret. */
  readonly secret?: string;
  readonly filterPolicy?: Record<string, unknown>;
  readonly ratePerMinute?: number;
  /** The URL stored in SSM; the receiver's own by default. */
  readonly url?: string;
}

export interface WorldEndpoint {
  readonly spec: EndpointSpec;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly source: LocalEventSource;
}

/** A dead letter as an operator finds it in the endpoint's DLQ. */
export interface DeadLetterSeen {
  readonly eventId: string;
  readonly attributes: Record<string, string>;
}

/**
 * One deployment of the webhook path for an integration test: the table (from
 * serverless.yml), the events topic, per endpoint a queue and DLQ subscribed with raw
 * delivery, URLs and secrets in SSM, all in the emulators; and two deliver "containers"
 * sharing the table, fed by a local event source mapping per endpoint (MaximumConcurrency 2).
 */
export class WebhookWorld {
  readonly clock: VirtualClock;
  readonly aws: AwsClients;
  readonly ssm: SSMClient;
  readonly tableName = `hooks-${randomUUID().slice(0, 8)}`;
  readonly endpoints = new Map<string, WorldEndpoint>();
  readonly services: DeliverService[] = [];
  readonly logs: { level: string; message: string; extra: unknown }[] = [];
  topicArn = '';
  #specs: readonly EndpointSpec[];
  #handlerClients: SQSClient[] = [];

  private constructor(specs: readonly EndpointSpec[], clock: VirtualClock) {
    this.#specs = specs;
    this.clock = clock;
    const moto = inject('motoEndpoint');
    this.aws = awsClients({
      dynamoEndpoint: inject('dynamoEndpoint'),
      snsEndpoint: moto,
      sqsEndpoint: moto,
    });
    this.ssm = new SSMClient({ region, credentials, endpoint: moto });
  }

  /** `topicArn`: subscribe to an existing events topic (a poller's) instead of a new one. */
  static async create(
    specs: (clock: VirtualClock) => readonly EndpointSpec[],
    { clock = new VirtualClock(), topicArn }: { clock?: VirtualClock; topicArn?: string } = {},
  ): Promise<WebhookWorld> {
    const world = new WebhookWorld(specs(clock), clock);
    await world.#setUp(topicArn);
    return world;
  }

  async #setUp(topicArn: string | undefined): Promise<void> {
    await createTable(this.aws.dynamo, this.tableName);
    this.topicArn =
      topicArn ??
      (await this.aws.sns.send(new CreateTopicCommand({ Name: this.tableName }))).TopicArn ??
      '';
    await Promise.all(this.#specs.map((spec) => spec.receiver.start()));
    const entries = [];
    const made: Omit<WorldEndpoint, 'source'>[] = [];
    for (const spec of this.#specs) {
      const queue = await this.#queue(`${this.tableName}-${spec.name}`);
      const dlq = await this.#queue(`${this.tableName}-${spec.name}-dlq`);
      await this.aws.sns.send(
        new SubscribeCommand({
          TopicArn: this.topicArn,
          Protocol: 'sqs',
          Endpoint: queue.arn,
          Attributes: {
            RawMessageDelivery: 'true',
            ...(spec.filterPolicy !== undefined && {
              FilterPolicy: JSON.stringify(spec.filterPolicy),
            }),
          },
        }),
      );
      const prefix = `/${this.tableName}/${spec.name}`;
      const url = spec.url ?? urlOf(spec.receiver);
      if (spec.format === 'standard') {
        await this.#put(`${prefix}/secret`, spec.secret ?? newSecret());
      } else {
        await this.#put(`${prefix}/url`, url);
        if (spec.secret !== undefined) await this.#put(`${prefix}/secret`, spec.secret);
      }
      entries.push({
        name: spec.name,
        format: spec.format,
        ...(spec.format === 'standard'
          ? { url, secretParam: `${prefix}/secret` }
          : {
              urlParam: `${prefix}/url`,
              ...(spec.secret !== undefined && { secretParam: `${prefix}/secret` }),
            }),
        ...(spec.ratePerMinute !== undefined && { ratePerMinute: spec.ratePerMinute }),
        queueArn: queue.arn,
        dlqUrl: dlq.url,
      });
      made.push({ spec, queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url });
    }
    const config = loadDeliverConfig({
      TABLE_NAME: this.tableName,
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      WEBHOOKS: JSON.stringify(entries),
    });
    // Two containers: separate clients, SSM caches and processes' worth of state; one table.
    const handlers = [0, 1].map((container) => {
      const sqs = new SQSClient({ region, credentials, endpoint: inject('motoEndpoint') });
      this.#handlerClients.push(sqs);
      const log =
        (level: string) =>
        (message: string, ...extra: unknown[]) => {
          this.logs.push({ level, message, extra: { container, extra } });
        };
      const service = createDeliverService({
        config,
        clients: { dynamo: this.aws.doc, sqs, ssm: this.ssm },
        log: { debug: vi.fn(), info: log('info'), warn: log('warn'), error: log('error') },
        clock: this.clock,
      });
      this.services.push(service);
      return deliverHandler(service, { log: { info: vi.fn() } });
    });
    for (const endpoint of made) {
      const robot = endpoint.spec.format !== 'standard';
      const source = new LocalEventSource({
        sqs: this.aws.sqs,
        queueUrl: endpoint.queueUrl,
        queueArn: endpoint.queueArn,
        handlers,
        batchSize: robot ? 50 : 10,
        batchingWindowMs: robot ? 300 : 0,
        clock: this.clock,
      });
      for (const client of this.#handlerClients) source.watch(client);
      this.endpoints.set(endpoint.spec.name, { ...endpoint, source });
    }
  }

  endpoint(name: string): WorldEndpoint {
    const endpoint = this.endpoints.get(name);
    if (endpoint === undefined) throw new Error(`no endpoint ${name}`);
    return endpoint;
  }

  /** Publishes events to the topic as the poller does (PublishBatch, with their attributes). */
  async publish(events: readonly FormEvent[]): Promise<void> {
    const publisher = new SnsPublisher({ client: this.aws.sns, topicArn: this.topicArn });
    const result = await publisher.publish(events.map((event) => toMessage(event)));
    if (result.failed.length > 0) throw new Error(`SNS refused ${result.failed.length} event(s)`);
  }

  /** Runs every endpoint's event source until its queue is empty and nothing is pending. */
  async drain(
    names: readonly string[] = [...this.endpoints.keys()],
  ): Promise<Record<string, DrainResult>> {
    const results: Record<string, DrainResult> = {};
    // One at a time: each drain may move the shared virtual clock over its own idle waits.
    for (const name of names) results[name] = await this.endpoint(name).source.drain();
    return results;
  }

  /** Everything in the endpoint's DLQ now, with the dead-letter attributes; left in place. */
  async deadLetters(name: string): Promise<DeadLetterSeen[]> {
    const seen: DeadLetterSeen[] = [];
    const handles: string[] = [];
    for (;;) {
      const { Messages: messages = [] } = await this.aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.endpoint(name).dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 2,
          MessageAttributeNames: ['All'],
        }),
      );
      if (messages.length === 0) break;
      for (const message of messages) {
        if (message.ReceiptHandle !== undefined) handles.push(message.ReceiptHandle);
        const body = JSON.parse(message.Body ?? '{}') as { id?: string };
        seen.push({
          eventId: body.id ?? '',
          attributes: Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [
              key,
              value.StringValue ?? '',
            ]),
          ),
        });
      }
    }
    for (const handle of handles) {
      await this.aws.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.endpoint(name).dlqUrl,
          ReceiptHandle: handle,
          VisibilityTimeout: 0,
        }),
      );
    }
    return seen;
  }

  async close(): Promise<void> {
    await Promise.all(this.#specs.map((spec) => spec.receiver.stop()));
    for (const client of this.#handlerClients) client.destroy();
    this.ssm.destroy();
    this.aws.destroy();
  }

  async #queue(name: string): Promise<{ url: string; arn: string }> {
    const { QueueUrl: url } = await this.aws.sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '360' } }),
    );
    const { Attributes: attributes } = await this.aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    if (url === undefined || attributes?.QueueArn === undefined)
      throw new Error(`queue ${name} not made`);
    return { url, arn: attributes.QueueArn };
  }

  async #put(name: string, value: string): Promise<void> {
    await this.ssm.send(
      new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }),
    );
  }
}

function urlOf(receiver: StandardReceiver | RobotFake): string {
  return 'webhookUrl' in receiver ? receiver.webhookUrl() : `${receiver.url}/hooks/weiban`;
}
