import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { subscriptionLines, topicSubscriptions } from '../../../cli/subscriptions.js';

const TOPIC = 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-prod-events';
const sub = (id: string) => `${TOPIC}:${id}`;

const client = new SNSClient({
  region: 'ap-northeast-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const sns = mockClient(client);

describe('where the events topic sends events', () => {
  beforeEach(() => {
    sns.reset();
  });

  it('counts subscriptions by protocol over every page, and flags those pending confirmation', async () => {
    sns
      .on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC, NextToken: undefined })
      .resolves({
        Subscriptions: [
          // SNS lists an unconfirmed subscription without its ARN.
          { SubscriptionArn: 'PendingConfirmation', Protocol: 'email', TopicArn: TOPIC },
          { SubscriptionArn: sub('a1'), Protocol: 'https', TopicArn: TOPIC },
          { SubscriptionArn: sub('a2'), Protocol: 'https', TopicArn: TOPIC },
        ],
        NextToken: 'page-2',
      })
      .on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC, NextToken: 'page-2' })
      .resolves({ Subscriptions: [{ SubscriptionArn: sub('b1'), Protocol: 'sqs' }] });
    sns
      .on(GetSubscriptionAttributesCommand)
      .resolves({ Attributes: { PendingConfirmation: 'false' } })
      .on(GetSubscriptionAttributesCommand, { SubscriptionArn: sub('a2') })
      .resolves({ Attributes: { PendingConfirmation: 'true' } });

    const found = await topicSubscriptions(client, TOPIC);

    expect(found).toEqual({
      topic_arn: TOPIC,
      total: 4,
      pending_confirmation: 2,
      by_protocol: [
        { protocol: 'email', confirmed: 0, pending_confirmation: 1 },
        { protocol: 'https', confirmed: 1, pending_confirmation: 1 },
        { protocol: 'sqs', confirmed: 1, pending_confirmation: 0 },
      ],
    });
    expect(sns).toHaveReceivedCommandTimes(ListSubscriptionsByTopicCommand, 2);
    expect(
      sns.commandCalls(GetSubscriptionAttributesCommand).map((call) => call.args[0].input),
    ).toEqual([
      { SubscriptionArn: sub('a1') },
      { SubscriptionArn: sub('a2') },
      { SubscriptionArn: sub('b1') },
    ]);
    expect(subscriptionLines(found)).toEqual([
      'Subscriptions: email 1 (1 pending confirmation), https 2 (1 pending confirmation), sqs 1',
      "  2 subscriptions are pending confirmation: they receive no events until the endpoint confirms (an https endpoint answers SNS's SubscriptionConfirmation; an email recipient clicks its link).",
    ]);
  });

  it('says events reach nobody when every subscription still waits for confirmation', () => {
    const lines = subscriptionLines({
      topic_arn: TOPIC,
      total: 1,
      pending_confirmation: 1,
      by_protocol: [{ protocol: 'https', confirmed: 0, pending_confirmation: 1 }],
    });

    expect(lines).toEqual([
      'Subscriptions: https 1 (1 pending confirmation)',
      "  1 subscription is pending confirmation: it receives no events until the endpoint confirms (an https endpoint answers SNS's SubscriptionConfirmation; an email recipient clicks its link).",
      '  No subscription is confirmed: events published now reach nobody.',
    ]);
  });

  it('says events reach nobody when the topic has no subscription', async () => {
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });

    const found = await topicSubscriptions(client, TOPIC);

    expect(found.total).toBe(0);
    expect(subscriptionLines(found)).toEqual([
      "No subscriptions: events published now reach nobody (add one with the stage's subscriptions param).",
    ]);
    expect(sns).not.toHaveReceivedCommand(GetSubscriptionAttributesCommand);
  });
});
