// Types for subscriptions-plugin.js (a plain-JS Serverless plugin), for the unit tests.

export interface Subscription {
  /** Part of the CloudFormation logical ids: `name`, or a hash of protocol and endpoint. */
  readonly id: string;
  readonly name: string | undefined;
  readonly protocol: 'https' | 'sqs' | 'lambda';
  readonly endpoint: string;
  readonly filterPolicy?: Record<string, unknown>;
  readonly filterPolicyScope?: 'MessageAttributes' | 'MessageBody';
  readonly rawMessageDelivery?: boolean;
}

export interface CloudFormationFragment {
  Resources: Record<
    string,
    { Type: string; DependsOn?: string[]; Properties: Record<string, unknown> }
  >;
  Outputs: Record<string, { Description: string; Value: unknown }>;
}

export const HTTPS_DELIVERY_POLICY: Readonly<Record<string, unknown>>;

/** The names a filter policy may match on, per filterPolicyScope. */
export const FILTERABLE: {
  readonly MessageAttributes: readonly string[];
  readonly MessageBody: readonly string[];
};

export class SubscriptionConfigError extends Error {}

export function parseSubscriptions(raw: unknown): Subscription[];

/**
 * Validates a filter policy (an object or its JSON text) and its scope; calls `fail`, which
 * throws, with a reason naming the field.
 */
export function parseFilterPolicy(
  filterPolicy: unknown,
  filterPolicyScope: unknown,
  fail: (reason: string) => never,
): {
  filterPolicy: Record<string, unknown> | undefined;
  filterPolicyScope: 'MessageAttributes' | 'MessageBody' | undefined;
};

export function logicalIds(id: string): {
  subscription: string;
  dlq: string;
  dlqPolicy: string;
  dlqAlarm: string;
  permission: string;
  dlqUrlOutput: string;
};

export function subscriptionResources(
  subscriptions: readonly Subscription[],
  logicalIds: { topic: string; alarmTopic: string },
): CloudFormationFragment;

/**
 * The packaging warning for a stage whose events would reach nobody, or undefined.
 * `destinations` counts each way events leave the topic, e.g. `{ subscriptions: 2 }`.
 */
export function noDestinationsWarning(
  stage: string,
  destinations: Readonly<Record<string, number>>,
): string | undefined;

export default class SubscriptionsPlugin {
  constructor(
    serverless: unknown,
    options?: unknown,
    utils?: { log?: { warning?: (message: string) => void } },
  );
  readonly hooks: Record<string, () => void>;
}
