import { randomBytes } from 'node:crypto';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../lib/clock.js';
import type { DeliveryLog } from '../lib/webhooks/ports.js';
import {
  startLocalWebhooks,
  type LocalEndpointSpec,
  type LocalWebhooks,
} from './local-webhooks.js';
import {
  DingtalkRobotFake,
  FeishuBotFake,
  StandardReceiver,
  WecomRobotFake,
} from './receivers/index.js';

// The deployed mapping gathers a robot batch for 5 s; locally a second is enough to show it.
const ROBOT_BATCHING_WINDOW_MS = 1_000;

export interface StartWebhooksOptions {
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly sqsConfig: SQSClientConfig;
  readonly ssm: SSMClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly topicArn: string;
  /** Prints one line per delivery a receiver accepted. */
  readonly print: (line: string) => void;
  readonly log: DeliveryLog;
}

export interface StartedWebhooks {
  readonly local: LocalWebhooks;
  /** The banner's lines about the webhooks. */
  readonly banner: readonly string[];
  /** Delivers in the background, as the event source mappings do, until `local.close()`. */
  start(): void;
  /**
   * Delivers what the queues hold now, and what comes back for a retry, for at most
   * `timeoutMs`; false when something was still waiting then (`--once`).
   */
  settle(timeoutMs: number): Promise<boolean>;
}

/**
 * The webhook path of `npm start` (dev/local-webhooks.ts): a `standard` receiver that
 * verifies every signature with the `standardwebhooks` package, and fakes of the three
 * robots, each subscribed to the topic through its own queue and fed to the real deliver
 * handler. Their keys and secrets are made here, kept in moto's SSM and never printed.
 */
export async function startWebhooks(options: StartWebhooksOptions): Promise<StartedWebhooks> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const token = () => randomBytes(16).toString('hex');
  const printer = (name: string) => (line: string) => {
    options.print(`webhook ${name}: ${line}`);
  };
  const specs: LocalEndpointSpec[] = [
    {
      name: 'crm',
      format: 'standard',
      secret,
      receiver: new StandardReceiver({ secrets: [secret], onDelivery: printer('crm') }),
    },
    {
      name: 'sales',
      format: 'wecom',
      receiver: new WecomRobotFake({ key: token(), onDelivery: printer('sales') }),
    },
    ...[
      { name: 'ops', Fake: FeishuBotFake, format: 'feishu' as const },
      { name: 'alerts', Fake: DingtalkRobotFake, format: 'dingtalk' as const },
    ].map(({ name, Fake, format }) => {
      const robotSecret = `SEC${token()}`;
      return {
        name,
        format,
        secret: robotSecret,
        receiver: new Fake({ key: token(), secret: robotSecret, onDelivery: printer(name) }),
      };
    }),
  ];
  const local = await startLocalWebhooks({
    sns: options.sns,
    sqs: options.sqs,
    sqsConfig: options.sqsConfig,
    ssm: options.ssm,
    dynamo: options.dynamo,
    tableName: options.tableName,
    topicArn: options.topicArn,
    specs,
    clock: systemClock,
    prefix: options.tableName,
    log: () => options.log,
    robotBatchingWindowMs: ROBOT_BATCHING_WINDOW_MS,
  });
  const endpoints = [...local.endpoints.values()];
  const crm = local.endpoints.get('crm');
  return {
    local,
    banner: [
      `  Webhooks  crm: a standard receiver at ${crm?.spec.receiver.url ?? '?'}, verifying every signature`,
      '            sales, ops, alerts: WeCom, Feishu and DingTalk robot fakes (Feishu and DingTalk signed)',
      '            each through its own queue and the real deliver handler',
    ],
    start: () => {
      for (const endpoint of endpoints) endpoint.source.start();
    },
    settle: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      const late = () => Date.now() > deadline;
      await Promise.all(endpoints.map((endpoint) => endpoint.source.drain({ until: late })));
      return !late() && endpoints.every((endpoint) => endpoint.source.pending() === 0);
    },
  };
}
