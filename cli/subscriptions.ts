import {
  GetSubscriptionAttributesCommand,
  paginateListSubscriptionsByTopic,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { formatCount } from './format.js';

/** How many of one protocol's subscriptions receive events, and how many wait to be confirmed. */
export interface ProtocolCount {
  readonly protocol: string;
  readonly confirmed: number;
  readonly pending_confirmation: number;
}

/** Where the events topic's messages go, as `status --json` prints it. */
export interface TopicSubscriptions {
  readonly topic_arn: string;
  readonly total: number;
  readonly pending_confirmation: number;
  /** Sorted by protocol. */
  readonly by_protocol: readonly ProtocolCount[];
}

// SNS: ListSubscriptionsByTopic names an unconfirmed subscription by this word, not an ARN.
const PENDING_ARN = 'PendingConfirmation';

/**
 * Counts the topic's subscriptions by protocol and state. A subscription listed with an ARN
 * is asked for its `PendingConfirmation` attribute, since SNS may list a pending one by ARN.
 */
export async function topicSubscriptions(
  sns: SNSClient,
  topicArn: string,
  signal?: AbortSignal,
): Promise<TopicSubscriptions> {
  const counts = new Map<string, { confirmed: number; pending: number }>();
  const pages = paginateListSubscriptionsByTopic(
    { client: sns, ...(signal !== undefined && { abortSignal: signal }) },
    { TopicArn: topicArn },
  );
  for await (const page of pages) {
    const states = await Promise.all(
      (page.Subscriptions ?? []).map(async (subscription) => ({
        protocol: subscription.Protocol ?? 'unknown',
        pending: await isPending(sns, subscription.SubscriptionArn, signal),
      })),
    );
    for (const { protocol, pending } of states) {
      const count = counts.get(protocol) ?? { confirmed: 0, pending: 0 };
      if (pending) count.pending += 1;
      else count.confirmed += 1;
      counts.set(protocol, count);
    }
  }
  const byProtocol = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([protocol, count]) => ({
      protocol,
      confirmed: count.confirmed,
      pending_confirmation: count.pending,
    }));
  const pending = byProtocol.reduce((sum, count) => sum + count.pending_confirmation, 0);
  const confirmed = byProtocol.reduce((sum, count) => sum + count.confirmed, 0);
  return {
    topic_arn: topicArn,
    total: pending + confirmed,
    pending_confirmation: pending,
    by_protocol: byProtocol,
  };
}

async function isPending(
  sns: SNSClient,
  subscriptionArn: string | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  if (subscriptionArn === undefined || subscriptionArn === PENDING_ARN) return true;
  const out = await sns.send(
    new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }),
    signal === undefined ? {} : { abortSignal: signal },
  );
  return out.Attributes?.PendingConfirmation === 'true';
}

/**
 * The lines `status` prints about where events go: the counts, and a warning when nothing
 * receives them or a subscription still waits for its endpoint to confirm.
 */
export function subscriptionLines(found: TopicSubscriptions): string[] {
  if (found.total === 0) {
    return [
      "No subscriptions: events published now reach nobody (add one with the stage's subscriptions param).",
    ];
  }
  const counts = found.by_protocol.map(({ protocol, confirmed, pending_confirmation }) => {
    const all = confirmed + pending_confirmation;
    return pending_confirmation === 0
      ? `${protocol} ${formatCount(all)}`
      : `${protocol} ${formatCount(all)} (${formatCount(pending_confirmation)} pending confirmation)`;
  });
  const lines = [`Subscriptions: ${counts.join(', ')}`];
  if (found.pending_confirmation > 0) {
    const which =
      found.pending_confirmation === 1
        ? '1 subscription is pending confirmation: it receives'
        : `${formatCount(found.pending_confirmation)} subscriptions are pending confirmation: they receive`;
    lines.push(
      `  ${which} no events until the endpoint confirms (an https endpoint answers SNS's SubscriptionConfirmation; an email recipient clicks its link).`,
    );
  }
  if (found.pending_confirmation === found.total) {
    lines.push('  No subscription is confirmed: events published now reach nobody.');
  }
  return lines;
}
