import { randomUUID } from 'node:crypto';
import { SSMClient } from '@aws-sdk/client-ssm';
import { inject, vi } from 'vitest';
import { WeibanSimulator, type SimulatorOptions } from '../../dev/simulator/index.js';
import { createTable } from '../../dev/table.js';
import { createTopicWithQueue, receiveAll, type ReceivedMessage } from '../../dev/topic.js';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { pollHandler } from '../../lib/handler.js';
import type { RunSummary } from '../../lib/model.js';
import { metrics } from '../../lib/observability.js';
import { createPollService, type PollService } from '../../lib/service.js';
import type { RetryPolicy } from '../../lib/weiban/transport.js';
import { awsClients, type AwsClients } from './aws.js';
import { eventSchemaValidator } from './event-schema.js';
import { lambdaContext } from './lambda-context.js';

const validateEvent = eventSchemaValidator();

export interface WorldOptions {
  /**
   * Configuration variables (docs/guarantees.md#config) on top of the world's own (simulator,
   * table, topic).
   */
  readonly env?: Record<string, string | undefined>;
  readonly simulator?: SimulatorOptions;
  readonly clock?: VirtualClock;
  /** For a secret in SSM (WEIBAN_SECRET_PARAM); without it nothing answers SSM calls. */
  readonly ssm?: SSMClient;
}

export interface Invocation {
  readonly runId?: string;
  /**
   * Lambda time left at the start of the run, counting down in real time; or a script of it,
   * asked whenever the service asks (e.g. "plenty until the first page, then almost none").
   */
  readonly remainingMs?: number | (() => number);
}

/**
 * One isolated deployment for an integration test: its own table (from serverless.yml),
 * topic with a subscribed queue (moto), and Weiban simulator. `container()` is a fresh
 * Lambda execution environment: new module-scope service, limiter and token cache.
 */
export class World {
  readonly clock: VirtualClock;
  readonly simulator: WeibanSimulator;
  readonly aws: AwsClients;
  readonly tableName = `forms-${randomUUID().slice(0, 8)}`;
  readonly logs: { level: string; message: string; extra: unknown[] }[] = [];
  config!: Config;
  topicArn = '';
  queueUrl = '';
  #containers: PollService[] = [];
  #options: WorldOptions;

  private constructor(options: WorldOptions) {
    this.#options = options;
    this.clock = options.clock ?? new VirtualClock();
    this.simulator = new WeibanSimulator({ clock: this.clock, ...options.simulator });
    const moto = inject('motoEndpoint');
    this.aws = awsClients({
      dynamoEndpoint: inject('dynamoEndpoint'),
      snsEndpoint: moto,
      sqsEndpoint: moto,
    });
  }

  static async create(options: WorldOptions = {}): Promise<World> {
    const world = new World(options);
    await world.#setUp();
    return world;
  }

  async #setUp(): Promise<void> {
    const url = await this.simulator.start();
    await createTable(this.aws.dynamo, this.tableName);
    const topic = await createTopicWithQueue({
      sns: this.aws.sns,
      sqs: this.aws.sqs,
      name: this.tableName,
    });
    this.topicArn = topic.topicArn;
    this.queueUrl = topic.queueUrl;
    this.config = loadConfig({
      WEIBAN_BASE_URL: url,
      WEIBAN_CORP_ID: 'sim-corp',
      WEIBAN_SECRET: 'sim-secret',
      TABLE_NAME: this.tableName,
      TOPIC_ARN: topic.topicArn,
      // One pass per invocation, as these runs are about one schedule tick each.
      POLL_INTERVAL_SECONDS: '60',
      FORM_IDS: '842',
      ...this.#options.env,
    });
  }

  /** A fresh execution environment, as Lambda starts after a crash or a scale-out. */
  container(retry?: RetryPolicy): (invocation?: Invocation) => Promise<RunSummary> {
    const log =
      (level: string) =>
      (message: string, ...extra: unknown[]) => {
        this.logs.push({ level, message, extra });
      };
    const service = createPollService({
      config: this.config,
      clients: {
        dynamo: this.aws.doc,
        sns: this.aws.sns,
        ssm:
          this.#options.ssm ??
          new SSMClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
      },
      log: { debug: vi.fn(), info: log('info'), warn: log('warn'), error: log('error') },
      clock: this.clock,
      ...(retry !== undefined && { retry }),
    });
    this.#containers.push(service);
    const handler = pollHandler(service, {
      log: { info: log('info'), warn: log('warn') },
      sink: metrics,
      now: () => this.clock.now(),
    });
    return ({ runId = randomUUID(), remainingMs = 60_000 }: Invocation = {}) => {
      const deadline = Date.now() + (typeof remainingMs === 'number' ? remainingMs : 0);
      return handler(
        undefined,
        lambdaContext({
          awsRequestId: runId,
          getRemainingTimeInMillis:
            typeof remainingMs === 'number' ? () => deadline - Date.now() : remainingMs,
        }),
      );
    };
  }

  /**
   * Every message the subscribed queue holds now, drained. Each event must pass the
   * published JSON Schema, as a consumer would check it.
   */
  async received(options: { expected?: number; idleMs?: number } = {}): Promise<ReceivedMessage[]> {
    // Expecting messages: patience under load. Expecting none: a short look is enough.
    const idleMs = options.expected === undefined ? 300 : 5_000;
    const messages = await receiveAll(this.aws.sqs, this.queueUrl, { idleMs, ...options });
    for (const message of messages) {
      const problems = validateEvent(message.body);
      if (problems.length > 0) {
        throw new Error(
          `an event does not match schema/weiban.form.submitted.v1.json: ${problems.join('; ')}`,
        );
      }
    }
    return messages;
  }

  async close(): Promise<void> {
    await this.simulator.stop();
    this.aws.destroy();
  }
}

/** `id`s of received events, for exactly-once assertions. */
export const eventIds = (messages: readonly ReceivedMessage[]): string[] =>
  messages.map((message) => (message.body as { id: string }).id);
