import { SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadDeliverConfig } from '../lib/config.js';
import type { Format } from '../lib/webhooks/endpoints.js';
import { deliverHandler } from '../lib/webhooks/handler.js';
import type { DeliveryLog } from '../lib/webhooks/ports.js';
import { createDeliverService, type DeliverService } from '../lib/webhooks/service.js';
import { LocalEventSource, type DriverClock } from './event-source.js';
import type { RobotFake, StandardReceiver } from './receivers/index.js';

/** One local endpoint: a receiver (started here) and how the deliver function knows it. */
export interface LocalEndpointSpec {
  readonly name: string;
  readonly format: Format;
  readonly receiver: StandardReceiver | RobotFake;
  /** A standard endpoint's secret(s) as SSM holds them, or a robot's signing secret. */
  readonly secret?: string;
  readonly filterPolicy?: Record<string, unknown>;
  readonly ratePerMinute?: number;
  /** The URL to store; the receiver's own by default. */
  readonly url?: string;
}

export interface LocalEndpoint {
  readonly spec: LocalEndpointSpec;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly source: LocalEventSource;
}

export interface LocalWebhooksOptions {
  readonly sns: SNSClient;
  /** The driver's client for the emulator's SQS. */
  readonly sqs: SQSClient;
  /** How the deliver containers build their own SQS clients (the emulator's endpoint). */
  readonly sqsConfig: SQSClientConfig;
  readonly ssm: SSMClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly topicArn: string;
  readonly specs: readonly LocalEndpointSpec[];
  readonly clock: DriverClock;
  /** Names the queues and SSM parameters: `${prefix}-${name}`, `/${prefix}/${name}/…`. */
  readonly prefix: string;
  /** One log per deliver container. */
  readonly log: (container: number) => DeliveryLog;
  /** Deliver containers fed at once (the event source mapping's MaximumConcurrency). */
  readonly containers?: number;
  /** Real ms a robot batch is gathered before delivery (the mapping's batching window). */
  readonly robotBatchingWindowMs?: number;
}

export interface LocalWebhooks {
  readonly endpoints: ReadonlyMap<string, LocalEndpoint>;
  /**
   * The deliver function's webhook settings (WEBHOOKS, and WEBHOOK_ALLOW_LOOPBACK), as the
   * operator CLI reads them without --stage: no URL with a key, no secret, only their names.
   */
  readonly environment: Readonly<Record<string, string>>;
  readonly services: readonly DeliverService[];
  /** Stops the receivers and the containers' clients. */
  close(): Promise<void>;
}

/**
 * The webhook path as the template deploys it, in the emulators, for tests and `npm start`:
 * per endpoint a queue and a DLQ, subscribed to the topic with raw delivery and the entry's
 * filter policy; the URL and secret in SSM SecureStrings; deliver containers built from a
 * WEBHOOKS value like the template's (loopback allowed); and a local event source mapping
 * per endpoint (batch 10 for `standard`, 50 for robots).
 */
export async function startLocalWebhooks(options: LocalWebhooksOptions): Promise<LocalWebhooks> {
  const { sns, sqs, ssm, topicArn, prefix, specs } = options;
  await Promise.all(specs.map((spec) => spec.receiver.start()));
  const put = async (name: string, value: string) => {
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }),
    );
  };
  const entries: Record<string, unknown>[] = [];
  const made: Omit<LocalEndpoint, 'source'>[] = [];
  for (const spec of specs) {
    const queue = await createQueue(sqs, `${prefix}-${spec.name}`);
    const dlq = await createQueue(sqs, `${prefix}-${spec.name}-dlq`);
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
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
    const params = `/${prefix}/${spec.name}`;
    const url = spec.url ?? receiverUrl(spec.receiver);
    if (spec.format !== 'standard') await put(`${params}/url`, url);
    if (spec.secret !== undefined) await put(`${params}/secret`, spec.secret);
    entries.push({
      name: spec.name,
      format: spec.format,
      ...(spec.format === 'standard' ? { url } : { urlParam: `${params}/url` }),
      ...(spec.secret !== undefined && { secretParam: `${params}/secret` }),
      ...(spec.ratePerMinute !== undefined && { ratePerMinute: spec.ratePerMinute }),
      queueArn: queue.arn,
      dlqUrl: dlq.url,
    });
    made.push({ spec, queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url });
  }
  const environment = { WEBHOOKS: JSON.stringify(entries), WEBHOOK_ALLOW_LOOPBACK: 'true' };
  const config = loadDeliverConfig({ TABLE_NAME: options.tableName, ...environment });
  // Separate containers: their own clients and SSM caches, as Lambda would have; one table.
  const clients: SQSClient[] = [];
  const services: DeliverService[] = [];
  const handlers = Array.from({ length: options.containers ?? 2 }, (_, container) => {
    const client = new SQSClient(options.sqsConfig);
    clients.push(client);
    const service = createDeliverService({
      config,
      clients: { dynamo: options.dynamo, sqs: client, ssm },
      log: options.log(container),
      clock: options.clock,
    });
    services.push(service);
    return deliverHandler(service, { log: options.log(container) });
  });
  const endpoints = new Map<string, LocalEndpoint>();
  for (const endpoint of made) {
    const robot = endpoint.spec.format !== 'standard';
    const source = new LocalEventSource({
      sqs,
      queueUrl: endpoint.queueUrl,
      queueArn: endpoint.queueArn,
      handlers,
      batchSize: robot ? 50 : 10,
      batchingWindowMs: robot ? (options.robotBatchingWindowMs ?? 5_000) : 0,
      clock: options.clock,
    });
    for (const client of clients) source.watch(client);
    endpoints.set(endpoint.spec.name, { ...endpoint, source });
  }
  return {
    endpoints,
    environment,
    services,
    close: async () => {
      await Promise.all([...endpoints.values()].map((endpoint) => endpoint.source.stop()));
      await Promise.all(specs.map((spec) => spec.receiver.stop()));
      for (const client of clients) client.destroy();
    },
  };
}

async function createQueue(sqs: SQSClient, name: string): Promise<{ url: string; arn: string }> {
  // As deployed (docs/webhooks.md): the queue's visibility timeout is 6 × the deliver function's 60 s.
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '360' } }),
  );
  const { Attributes: attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  if (url === undefined || attributes?.QueueArn === undefined) {
    throw new Error(`queue ${name} was not created`);
  }
  return { url, arn: attributes.QueueArn };
}

function receiverUrl(receiver: StandardReceiver | RobotFake): string {
  return 'webhookUrl' in receiver ? receiver.webhookUrl() : `${receiver.url}/hooks/weiban`;
}
