// Types for webhooks-plugin.js (a plain-JS Serverless plugin), for the unit tests.
import type { CloudFormationFragment } from './subscriptions-plugin.js';

export type WebhookFormat = 'standard' | 'wecom' | 'feishu' | 'dingtalk';

export interface Webhook {
  readonly name: string;
  readonly format: WebhookFormat;
  readonly url?: string;
  readonly urlParam?: string;
  readonly secretParam?: string;
  readonly filterPolicy?: Record<string, unknown>;
  readonly filterPolicyScope?: 'MessageAttributes' | 'MessageBody';
  readonly ratePerMinute: number;
}

export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource: unknown[];
}

export const FORMATS: readonly WebhookFormat[];
export const ROBOT_RATE_PER_MINUTE: Readonly<Record<'wecom' | 'dingtalk' | 'feishu', number>>;
export const STANDARD_RATE_PER_MINUTE: number;
export const MAX_RECEIVE_COUNT: number;
export const MAX_CONCURRENCY: number;
export const FAILING_SECONDS: number;

export class WebhookConfigError extends Error {}

export function parseWebhooks(raw: unknown, options?: { queuePrefix?: string }): Webhook[];

export function countWebhooks(raw: unknown): number;

export function eventSourceSettings(format: WebhookFormat): {
  BatchSize: number;
  MaximumBatchingWindowInSeconds?: number;
};

export function webhookLogicalIds(name: string): {
  queue: string;
  dlq: string;
  queuePolicy: string;
  subscription: string;
  eventSource: string;
  dlqAlarm: string;
  failingAlarm: string;
  stalledAlarm: string;
  queueUrlOutput: string;
  dlqUrlOutput: string;
};

export function queueNames(prefix: string, name: string): { queue: string; dlq: string };

export function webhooksEnvironment(webhooks: readonly Webhook[]): string | { 'Fn::Sub': string };

export function webhooksOutput(webhooks: readonly Webhook[]): string | { 'Fn::Sub': string };

export function deliverStatements(webhooks: readonly Webhook[]): Statement[];

export function webhookResources(
  webhooks: readonly Webhook[],
  settings: {
    topic: string;
    alarmTopic: string;
    deliverFunction: string;
    queuePrefix: string;
    timeoutSeconds: number;
  },
): CloudFormationFragment;

export function environmentBound(
  variables: Record<string, unknown>,
  webhooks: readonly Webhook[],
  queuePrefix: string,
): number;

export default class WebhooksPlugin {
  constructor(serverless: unknown);
  readonly hooks: Record<string, () => void>;
}
