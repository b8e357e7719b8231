import { describe, expect, it, vi } from 'vitest';
import { buildEvent, formEventSchema, messageAttributes } from '../../../lib/events.js';
import SubscriptionsPlugin, {
  FILTERABLE,
  HTTPS_DELIVERY_POLICY,
  noDestinationsWarning,
  logicalIds,
  parseSubscriptions,
  subscriptionResources,
  SubscriptionConfigError,
} from '../../../infra/subscriptions-plugin.js';

const QUEUE = 'arn:aws:sqs:ap-northeast-1:123456789012:crm-intake';
const FUNCTION = 'arn:aws:lambda:ap-northeast-1:123456789012:function:crm-sync';
const HOOK = 'https://crm.example.com/hooks/weiban';
const LOGICAL = { topic: 'EventsTopic', alarmTopic: 'AlarmTopic' };

describe('parseSubscriptions', () => {
  it.each([undefined, null, '', [], '[]'])('reads %j as no subscriptions', (raw) => {
    expect(parseSubscriptions(raw)).toEqual([]);
  });

  it('reads the JSON string that --param passes, with a JSON filter policy', () => {
    const raw = JSON.stringify([
      {
        protocol: 'sqs',
        endpoint: QUEUE,
        filterPolicy: '{"form_id":[842]}',
        rawMessageDelivery: 'true',
      },
    ]);

    expect(parseSubscriptions(raw)).toEqual([
      expect.objectContaining({
        protocol: 'sqs',
        endpoint: QUEUE,
        filterPolicy: { form_id: [842] },
        rawMessageDelivery: true,
      }),
    ]);
  });

  it('names logical ids after `name`, else after protocol and endpoint whatever the order', () => {
    const hook = { protocol: 'https', endpoint: HOOK };
    const queue = { name: 'Crm', protocol: 'sqs', endpoint: QUEUE };

    const forwards = parseSubscriptions([hook, queue]).map((s) => s.id);
    const backwards = parseSubscriptions([queue, hook]).map((s) => s.id);

    expect(forwards[1]).toBe('Crm');
    expect(forwards[0]).toMatch(/^S[0-9a-f]{10}$/);
    expect(backwards).toEqual([...forwards].reverse());
  });

  it.each([
    ['not a list', { protocol: 'sqs', endpoint: QUEUE }, 'must be a list'],
    ['bad JSON', '[{"protocol": "sqs",', 'not a JSON list'],
    ['a string entry', ['sqs'], 'entry #1 ("sqs"): must be an object'],
    [
      'an unknown protocol',
      [{ protocol: 'email', endpoint: 'ops@example.com' }],
      'entry #1 (email ops@example.com): protocol must be one of https, sqs, lambda',
    ],
    [
      'a plain-http webhook',
      [{ protocol: 'https', endpoint: 'http://crm.example.com/hook' }],
      'entry #1 (https http://crm.example.com/hook): endpoint must be an https:// URL',
    ],
    [
      'a queue URL instead of an ARN',
      [{ protocol: 'sqs', endpoint: 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/q' }],
      'endpoint must be an SQS queue ARN',
    ],
    [
      'a FIFO queue',
      [{ protocol: 'sqs', endpoint: `${QUEUE}.fifo` }],
      'endpoint must be a standard (not FIFO) queue',
    ],
    [
      'raw delivery to a Lambda',
      [{ protocol: 'lambda', endpoint: FUNCTION, rawMessageDelivery: true }],
      'rawMessageDelivery is not supported for lambda',
    ],
    [
      'a scope without a filter policy',
      [{ protocol: 'sqs', endpoint: QUEUE, filterPolicyScope: 'MessageBody' }],
      'filterPolicyScope needs a filterPolicy',
    ],
    [
      'an unknown scope',
      [{ protocol: 'sqs', endpoint: QUEUE, filterPolicy: { a: ['b'] }, filterPolicyScope: 'Body' }],
      'filterPolicyScope must be one of MessageAttributes, MessageBody',
    ],
    [
      'an empty filter policy',
      [{ protocol: 'sqs', endpoint: QUEUE, filterPolicy: {} }],
      'filterPolicy must be a non-empty object',
    ],
    [
      'a misspelt key',
      [{ protocol: 'sqs', endpoint: QUEUE, filterpolicy: { a: ['b'] } }],
      'unknown key(s) filterpolicy',
    ],
    [
      'a filter on an attribute events do not carry',
      [{ protocol: 'sqs', endpoint: QUEUE, filterPolicy: { formId: [842], form_id: [901] } }],
      'filterPolicy names formId, which no event carries, so it would match nothing; with filterPolicyScope MessageAttributes use event_type, form_id, user_city',
    ],
    [
      'a body filter on a field the envelope does not have',
      [
        {
          protocol: 'sqs',
          endpoint: QUEUE,
          filterPolicy: { $or: [{ data: { form_id: [842] } }, { city: ['上海市'] }] },
          filterPolicyScope: 'MessageBody',
        },
      ],
      'filterPolicy names city, which no event carries',
    ],
    [
      'a name that cannot be a logical id',
      [{ name: 'crm-intake', protocol: 'sqs', endpoint: QUEUE }],
      'name must be 1–48 letters or digits',
    ],
    [
      'the same endpoint twice',
      [
        { protocol: 'https', endpoint: HOOK },
        { protocol: 'https', endpoint: HOOK, filterPolicy: { form_id: [842] } },
      ],
      `entry #2 (https ${HOOK}): same protocol and endpoint as entry #1`,
    ],
  ])('rejects %s, naming the entry', (_case, raw, message) => {
    expect(() => parseSubscriptions(raw)).toThrow(SubscriptionConfigError);
    expect(() => parseSubscriptions(raw)).toThrow(message);
  });
});

describe('filter policies', () => {
  it.each([
    ['only form 842', { form_id: [842] }, undefined],
    ['only city 上海', { user_city: [{ prefix: '上海' }] }, undefined],
    ['either', { $or: [{ form_id: [842] }, { user_city: ['上海市'] }] }, undefined],
    ['answers only', { data: { submissions: [{ exists: true }] } }, 'MessageBody'],
  ])('accepts the policy for %s', (_case, filterPolicy, filterPolicyScope) => {
    const [parsed] = parseSubscriptions([
      { protocol: 'sqs', endpoint: QUEUE, filterPolicy, filterPolicyScope },
    ]);

    expect(parsed?.filterPolicy).toEqual(filterPolicy);
  });

  it('knows every attribute and body field an event has, and no other', () => {
    const event = buildEvent({
      corpId: 'corp-1',
      submitter: {
        u_id: 768,
        form_id: 842,
        status: 'submit',
        submit_at: 1_619_613_511,
        external_user_id: 'wm1',
        unionid: 'o1',
        user_city: '南昌市',
      },
      type: 'weiban.form.submitted',
      detectedAtMs: 0,
    });

    expect([...FILTERABLE.MessageAttributes].sort()).toEqual(
      Object.keys(messageAttributes(event)).sort(),
    );
    expect([...FILTERABLE.MessageBody].sort()).toEqual(Object.keys(formEventSchema.shape).sort());
  });
});

describe('subscriptionResources', () => {
  const [hook, queue, lambda] = parseSubscriptions([
    { protocol: 'https', endpoint: HOOK, filterPolicy: { form_id: [842] } },
    {
      name: 'Crm',
      protocol: 'sqs',
      endpoint: QUEUE,
      filterPolicy: { data: { user_city: ['Shanghai'] } },
      filterPolicyScope: 'MessageBody',
      rawMessageDelivery: true,
    },
    { protocol: 'lambda', endpoint: FUNCTION },
  ]);
  if (hook === undefined || queue === undefined || lambda === undefined) {
    throw new Error('fixture did not parse');
  }
  const { Resources: resources, Outputs: outputs } = subscriptionResources(
    [hook, queue, lambda],
    LOGICAL,
  );

  it.each([hook, queue, lambda])(
    'dead-letters $protocol deliveries to a queue of its own',
    (sub) => {
      const ids = logicalIds(sub.id);

      expect(resources[ids.subscription]?.Properties).toMatchObject({
        TopicArn: { Ref: 'EventsTopic' },
        Protocol: sub.protocol,
        Endpoint: sub.endpoint,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
      });
      expect(resources[ids.dlq]).toEqual({
        Type: 'AWS::SQS::Queue',
        Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
      });
      expect(resources[ids.dlqPolicy]?.Properties.PolicyDocument).toMatchObject({
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
            Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'EventsTopic' } } },
          },
        ],
      });
      expect(resources[ids.dlqAlarm]?.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
      expect(outputs[ids.dlqUrlOutput]?.Value).toEqual({ Ref: ids.dlq });
    },
  );

  it('passes the filter policy, its scope and raw delivery through', () => {
    expect(resources[logicalIds('Crm').subscription]?.Properties).toMatchObject({
      FilterPolicy: { data: { user_city: ['Shanghai'] } },
      FilterPolicyScope: 'MessageBody',
      RawMessageDelivery: true,
    });
  });

  it('gives only the https subscription a delivery policy with retries and a throttle', () => {
    const policies = [hook, queue, lambda].map(
      (sub) => resources[logicalIds(sub.id).subscription]?.Properties.DeliveryPolicy,
    );

    expect(policies).toEqual([HTTPS_DELIVERY_POLICY, undefined, undefined]);
    expect(HTTPS_DELIVERY_POLICY).toMatchObject({
      healthyRetryPolicy: { numRetries: 20, backoffFunction: 'exponential' },
      throttlePolicy: { maxReceivesPerSecond: 10 },
    });
  });

  it('lets the topic invoke a Lambda endpoint, and only that one', () => {
    const permissions = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Permission',
    );

    expect(permissions).toEqual([
      {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: FUNCTION,
          Principal: 'sns.amazonaws.com',
          SourceArn: { Ref: 'EventsTopic' },
        },
      },
    ]);
    expect(resources[logicalIds(lambda.id).subscription]?.DependsOn).toContain(
      logicalIds(lambda.id).permission,
    );
  });

  it('adds no policy to an sqs endpoint: its consumer owns that queue', () => {
    const queuePolicies = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::SQS::QueuePolicy',
    );

    expect(queuePolicies.map((policy) => policy.Properties.Queues)).toEqual(
      [hook, queue, lambda].map((sub) => [{ Ref: logicalIds(sub.id).dlq }]),
    );
  });
});

describe('the packaging warning for a stage whose events reach nobody', () => {
  /** The plugin as osls loads it, for a stage with the given `subscriptions` param. */
  function packaging(stage: string, subscriptions: unknown, webhooks: unknown = []) {
    const warning = vi.fn();
    const plugin = new SubscriptionsPlugin(
      {
        service: {
          custom: { eventSubscriptions: { ...LOGICAL, subscriptions }, webhooks: { webhooks } },
          provider: { stage },
        },
        getProvider: () => ({ getStage: () => stage }),
        classes: { Error },
      },
      {},
      { log: { warning } },
    );
    plugin.hooks['before:package:initialize']?.();
    return warning;
  }

  it('names the stage and the empty subscriptions and webhooks params in one sentence', () => {
    expect(noDestinationsWarning('qa', { subscriptions: 0, webhooks: 0 })).toBe(
      'Stage "qa" has no subscriptions and no webhooks (its "subscriptions" and "webhooks" params are empty): it will publish every event to a topic nobody reads. Add one to either param, or subscribe to the EventsTopicArn output.',
    );
  });

  it.each([
    ['one subscription', { subscriptions: 1 }],
    ['another kind of destination', { subscriptions: 0, webhooks: 2 }],
  ])('says nothing when events have %s', (_label, destinations) => {
    expect(noDestinationsWarning('qa', destinations)).toBeUndefined();
  });

  it.each([[[]], [''], ['[]'], [undefined]])(
    'warns through the framework’s log when packaging with subscriptions %j',
    (subscriptions) => {
      const warning = packaging('qa', subscriptions);

      expect(warning).toHaveBeenCalledTimes(1);
      expect(warning).toHaveBeenCalledWith(
        noDestinationsWarning('qa', { subscriptions: 0, webhooks: 0 }),
      );
    },
  );

  it('does not warn when the stage delivers to a webhook', () => {
    const warning = packaging(
      'prod',
      [],
      [
        {
          name: 'Crm',
          format: 'standard',
          url: 'https://crm.example.com/hook',
          secretParam: '/a/b',
        },
      ],
    );

    expect(warning).not.toHaveBeenCalled();
  });

  it('does not warn when the stage has a subscription', () => {
    const warning = packaging('prod', [{ protocol: 'sqs', endpoint: QUEUE }]);

    expect(warning).not.toHaveBeenCalled();
  });
});
