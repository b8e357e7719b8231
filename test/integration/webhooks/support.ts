import { randomBytes, randomUUID } from 'node:crypto';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { inject, vi } from 'vitest';
import type { DrainResult } from '../../../dev/event-source.js';
import {
  startLocalWebhooks,
  type LocalEndpoint,
  type LocalEndpointSpec,
  type LocalWebhooks,
} from '../../../dev/local-webhooks.js';
import { createTable } from '../../../dev/table.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { FormEvent } from '../../../lib/events.js';
import { toMessage } from '../../../lib/publish/message.js';
import { SnsPublisher } from '../../../lib/publish/sns.js';
import type { DeliverService } from '../../../lib/webhooks/service.js';
import { awsClients, type AwsClients } from '../../support/aws.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A Standard Webhooks secret made for one test run. */
export const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

export type EndpointSpec = LocalEndpointSpec;
export type WorldEndpoint = LocalEndpoint;

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
  readonly logs: { level: string; message: string; extra: unknown }[] = [];
  topicArn = '';
  #specs: readonly EndpointSpec[];
  #local: LocalWebhooks | undefined;

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
    const moto = inject('motoEndpoint');
    this.#local = await startLocalWebhooks({
      sns: this.aws.sns,
      sqs: this.aws.sqs,
      sqsConfig: { region, credentials, endpoint: moto },
      ssm: this.ssm,
      dynamo: this.aws.doc,
      tableName: this.tableName,
      topicArn: this.topicArn,
      specs: this.#specs.map((spec) =>
        spec.format === 'standard' && spec.secret === undefined
          ? { ...spec, secret: newSecret() }
          : spec,
      ),
      clock: this.clock,
      prefix: this.tableName,
      robotBatchingWindowMs: 300,
      log: (container) => {
        const log =
          (level: string) =>
          (message: string, ...extra: unknown[]) => {
            this.logs.push({ level, message, extra: { container, extra } });
          };
        return { debug: vi.fn(), info: log('info'), warn: log('warn'), error: log('error') };
      },
    });
  }

  get endpoints(): ReadonlyMap<string, WorldEndpoint> {
    return this.#local?.endpoints ?? new Map();
  }

  /** What the operator CLI reads without --stage: the table and the deliver settings. */
  get cliEnv(): Record<string, string> {
    return { TABLE_NAME: this.tableName, ...this.#local?.environment };
  }

  /** The deliver containers, one per concurrent execution. */
  get services(): readonly DeliverService[] {
    return this.#local?.services ?? [];
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
    await this.#local?.close();
    this.ssm.destroy();
    this.aws.destroy();
  }
}
