import { describe, expect, it } from 'vitest';
import {
  parseSubscriptions,
  SubscriptionConfigError,
} from '../../../infra/subscriptions-plugin.js';
import WebhooksPlugin, {
  countWebhooks,
  deliverStatements,
  environmentBound,
  parseWebhooks,
  queueNames,
  WebhookConfigError,
  webhookLogicalIds,
  webhookResources,
  webhooksEnvironment,
  webhooksOutput,
  type Webhook,
} from '../../../infra/webhooks-plugin.js';

const SECRET = '/weiban-forms/prod/crm-secret';
const CRM = { name: 'Crm', format: 'standard', url: 'https://crm.example.com/hooks/weiban' };
const STANDARD = { ...CRM, secretParam: SECRET };
// What a robot URL looks like: its key is in the query string.
const WECOM_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0';
const SETTINGS = {
  topic: 'EventsTopic',
  alarmTopic: 'AlarmTopic',
  deliverFunction: 'DeliverLambdaFunction',
  queuePrefix: 'weiban-forms-prod',
  timeoutSeconds: 60,
};

/** The message parseWebhooks throws for `raw`, or 'accepted'. */
function rejection(raw: unknown, options?: { queuePrefix?: string }): string {
  try {
    parseWebhooks(raw, options);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof WebhookConfigError)) throw error;
    return error.message;
  }
}

/**
 * Resolves an Fn::Sub string as CloudFormation does: `${!x}` is the literal `${x}`, any other
 * `${ref}` must be one of `values`.
 */
function substitute(value: unknown, values: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const text = (value as { 'Fn::Sub': string })['Fn::Sub'];
  return text.replace(/\$\{(!?)([^}]*)\}/g, (_, bang: string, ref: string) => {
    if (bang === '!') return `\${${ref}}`;
    const resolved = values[ref];
    if (resolved === undefined) throw new Error(`Fn::Sub refers to unknown ${ref}`);
    return resolved;
  });
}

const arnOf = (name: string) => `arn:aws:sqs:ap-northeast-1:123456789012:${name}`;
const urlOf = (name: string) => `https://sqs.ap-northeast-1.amazonaws.com/123456789012/${name}`;

/** What CloudFormation resolves each queue's Ref and Arn to, for `webhooks`. */
function deployedValues(webhooks: readonly Webhook[]): Record<string, string> {
  return Object.fromEntries(
    webhooks.flatMap((webhook) => {
      const ids = webhookLogicalIds(webhook.name);
      const names = queueNames(SETTINGS.queuePrefix, webhook.name);
      return [
        [ids.queue, urlOf(names.queue)],
        [`${ids.queue}.Arn`, arnOf(names.queue)],
        [ids.dlq, urlOf(names.dlq)],
        [`${ids.dlq}.Arn`, arnOf(names.dlq)],
      ];
    }),
  );
}

describe('parseWebhooks', () => {
  it.each([undefined, null, '', [], '[]'])('reads %j as no webhooks', (raw) => {
    expect(parseWebhooks(raw)).toEqual([]);
  });

  it('reads the JSON string that --param passes, with a JSON filter policy', () => {
    const raw = JSON.stringify([{ ...STANDARD, filterPolicy: '{"form_id":[842]}' }]);

    expect(parseWebhooks(raw)).toEqual([
      { ...STANDARD, filterPolicy: { form_id: [842] }, ratePerMinute: 600 },
    ]);
  });

  it('defaults each robot to its documented limit and a standard endpoint to 600 a minute', () => {
    const parsed = parseWebhooks([
      STANDARD,
      { name: 'Sales', format: 'wecom', urlParam: '/weiban-forms/prod/wecom-sales' },
      { name: 'Ops', format: 'feishu', urlParam: '/weiban-forms/prod/feishu-ops' },
      { name: 'Leads', format: 'dingtalk', urlParam: '/weiban-forms/prod/dingtalk-leads' },
    ]);

    expect(parsed.map((each) => [each.name, each.ratePerMinute])).toEqual([
      ['Crm', 600],
      ['Sales', 20],
      ['Ops', 100],
      ['Leads', 20],
    ]);
  });

  it('takes a rate up to the robot limit, as a number or digits, and any rate for standard', () => {
    const parsed = parseWebhooks([
      { ...STANDARD, ratePerMinute: 6000 },
      { name: 'Sales', format: 'wecom', urlParam: '/p/wecom', ratePerMinute: 20 },
      { name: 'Ops', format: 'feishu', urlParam: '/p/feishu', ratePerMinute: '30' },
    ]);

    expect(parsed.map((each) => each.ratePerMinute)).toEqual([6000, 20, 30]);
  });

  it('keeps the optional robot signing secret of Feishu and DingTalk', () => {
    const parsed = parseWebhooks([
      { name: 'Ops', format: 'feishu', urlParam: '/p/feishu', secretParam: '/p/feishu-secret' },
      { name: 'Leads', format: 'dingtalk', urlParam: '/p/ding', secretParam: '/p/ding-secret' },
    ]);

    expect(parsed.map((each) => each.secretParam)).toEqual(['/p/feishu-secret', '/p/ding-secret']);
  });

  it.each([
    ['not a list', STANDARD, 'Invalid "webhooks" param: must be a list'],
    ['bad JSON', '[{"name": "Crm",', 'Invalid "webhooks" param: not a JSON list'],
    ['a string entry', ['Crm'], 'entry #1 (no valid name): must be an object'],
    ['a misspelt key', [{ ...STANDARD, secret: SECRET }], 'entry #1 (Crm): unknown key(s) secret'],
    [
      'no name',
      [{ format: 'standard', url: CRM.url, secretParam: SECRET }],
      'entry #1 (no valid name): name is required',
    ],
    [
      'a name with a dash',
      [{ ...STANDARD, name: 'crm-prod' }],
      'entry #1 (no valid name): name is required: 1–40 letters or digits',
    ],
    [
      'a name of 41 letters',
      [{ ...STANDARD, name: 'A'.repeat(41) }],
      'name is required: 1–40 letters or digits',
    ],
    [
      'no format',
      [{ name: 'Crm', url: CRM.url, secretParam: SECRET }],
      'entry #1 (Crm): format must be one of standard, wecom, feishu, dingtalk',
    ],
    [
      'an unknown format',
      [{ ...STANDARD, format: 'slack' }],
      'format must be one of standard, wecom, feishu, dingtalk',
    ],
    [
      'url and urlParam',
      [{ ...STANDARD, urlParam: '/p/url' }],
      'entry #1 (Crm): give url or urlParam, not both',
    ],
    [
      'neither url nor urlParam',
      [{ name: 'Crm', format: 'standard', secretParam: SECRET }],
      'entry #1 (Crm): url or urlParam is required',
    ],
    [
      'a plain-http url',
      [{ ...STANDARD, url: 'http://crm.example.com/hook' }],
      'entry #1 (Crm): url must be an https:// URL',
    ],
    [
      'a url that is no URL',
      [{ ...STANDARD, url: 'crm.example.com/hook' }],
      'url must be an https:// URL',
    ],
    ['a url that is not a string', [{ ...STANDARD, url: 443 }], 'url must be an https:// URL'],
    [
      'an unparseable urlParam',
      [{ name: 'Crm', format: 'standard', urlParam: 'crm-url', secretParam: SECRET }],
      'entry #1 (Crm): urlParam must be an SSM parameter name',
    ],
    [
      'a urlParam with a space',
      [{ name: 'Sales', format: 'wecom', urlParam: '/p/sales group' }],
      'entry #1 (Sales): urlParam must be an SSM parameter name',
    ],
    [
      'a urlParam with an empty part',
      [{ name: 'Sales', format: 'wecom', urlParam: '/p//sales' }],
      'urlParam must be an SSM parameter name',
    ],
    [
      'a urlParam ending in /',
      [{ name: 'Sales', format: 'wecom', urlParam: '/p/sales/' }],
      'urlParam must be an SSM parameter name',
    ],
    ['standard without secretParam', [CRM], 'entry #1 (Crm): secretParam is required for standard'],
    [
      'a secretParam without its leading /',
      [{ ...STANDARD, secretParam: 'crm-secret' }],
      'entry #1 (Crm): secretParam must be an SSM parameter name',
    ],
    [
      'a WeCom robot with a secretParam',
      [{ name: 'Sales', format: 'wecom', urlParam: '/p/sales', secretParam: '/p/secret' }],
      'entry #1 (Sales): secretParam is not allowed for wecom: WeCom robots do not sign',
    ],
    [
      'a rate of 0',
      [{ ...STANDARD, ratePerMinute: 0 }],
      'entry #1 (Crm): ratePerMinute must be a whole number of at least 1',
    ],
    [
      'a fractional rate',
      [{ ...STANDARD, ratePerMinute: 1.5 }],
      'ratePerMinute must be a whole number of at least 1',
    ],
    [
      'a rate in words',
      [{ ...STANDARD, ratePerMinute: 'fast' }],
      'ratePerMinute must be a whole number of at least 1',
    ],
    [
      'a WeCom rate over 20',
      [{ name: 'Sales', format: 'wecom', urlParam: '/p/s', ratePerMinute: 21 }],
      'entry #1 (Sales): ratePerMinute may not exceed 20, the documented limit of a wecom robot',
    ],
    [
      'a DingTalk rate over 20',
      [{ name: 'Leads', format: 'dingtalk', urlParam: '/p/d', ratePerMinute: 21 }],
      'ratePerMinute may not exceed 20, the documented limit of a dingtalk robot',
    ],
    [
      'a Feishu rate over 100',
      [{ name: 'Ops', format: 'feishu', urlParam: '/p/f', ratePerMinute: 101 }],
      'ratePerMinute may not exceed 100, the documented limit of a feishu robot',
    ],
    [
      'an empty filter policy',
      [{ ...STANDARD, filterPolicy: {} }],
      'entry #1 (Crm): filterPolicy must be a non-empty object',
    ],
    [
      'a filter on an attribute events do not carry',
      [{ ...STANDARD, filterPolicy: { formId: [842] } }],
      'entry #1 (Crm): filterPolicy names formId, which no event carries',
    ],
    [
      'a scope without a filter policy',
      [{ ...STANDARD, filterPolicyScope: 'MessageBody' }],
      'entry #1 (Crm): filterPolicyScope needs a filterPolicy',
    ],
    [
      'the same name twice',
      [STANDARD, { name: 'Crm', format: 'wecom', urlParam: '/p/s' }],
      'entry #2 (Crm): name is already used by entry #1',
    ],
  ])('rejects %s, naming the entry and the field', (_case, raw, message) => {
    expect(rejection(raw)).toContain(message);
  });

  it('names the entry by its position and name when an earlier entry is fine', () => {
    expect(
      rejection([
        STANDARD,
        { name: 'Sales', format: 'wecom', urlParam: '/p/s', ratePerMinute: 60 },
      ]),
    ).toMatch(/^Invalid "webhooks" param, entry #2 \(Sales\): ratePerMinute may not exceed 20/);
  });

  describe('keeps credentials out of the template', () => {
    it.each(['wecom', 'feishu', 'dingtalk'])(
      'refuses a %s robot given by url, without repeating the URL',
      (format) => {
        const message = rejection([{ name: 'Sales', format, url: WECOM_URL }]);

        expect(message).toContain(
          `entry #1 (Sales): url is not allowed for ${format}: a robot's URL carries its key`,
        );
        expect(message).toContain('urlParam');
        expect(message).not.toContain('qyapi');
        expect(message).not.toContain('693a91f6');
      },
    );

    it.each([
      [
        'user:password@',
        'https://bot:s3cr3t@crm.example.com/hook',
        'url may not carry user:password@',
      ],
      ['a user@', 'https://token@crm.example.com/hook', 'url may not carry user:password@'],
      [
        'a query string',
        'https://crm.example.com/hook?token=s3cr3t',
        'url may not carry a query string',
      ],
      [
        'an empty query string',
        'https://crm.example.com/hook?',
        'url may not carry a query string',
      ],
    ])('refuses a standard url with %s, without repeating it', (_case, url, reason) => {
      const message = rejection([{ ...STANDARD, url }]);

      expect(message).toContain(`entry #1 (Crm): ${reason}`);
      expect(message).not.toContain('crm.example.com');
      expect(message).not.toContain('s3cr3t');
    });

    it('never repeats an entry that is not an object, nor an invalid name', () => {
      expect(rejection([WECOM_URL])).not.toContain('693a91f6');
      expect(rejection([{ ...STANDARD, name: WECOM_URL }])).not.toContain('693a91f6');
    });
  });

  it('checks the filter policy exactly as subscriptions do', () => {
    const policies: [unknown, unknown][] = [
      ['{"form_id": [842]', undefined],
      [[842], undefined],
      [{ user_city: ['上海市'] }, 'Body'],
      [{ $or: [{ form_id: [842] }, { city: ['上海市'] }] }, undefined],
      [{ data: { form_id: [842] }, detected: ['x'] }, 'MessageBody'],
    ];
    // The reason after "entry #1 (…): ".
    const reason = (parse: () => unknown): string => {
      try {
        parse();
        return 'accepted';
      } catch (error) {
        return error instanceof Error ? error.message.replace(/^.*?\): /, '') : String(error);
      }
    };

    for (const [filterPolicy, filterPolicyScope] of policies) {
      const webhook = () => parseWebhooks([{ ...STANDARD, filterPolicy, filterPolicyScope }]);
      const subscription = () =>
        parseSubscriptions([
          { protocol: 'sqs', endpoint: arnOf('q'), filterPolicy, filterPolicyScope },
        ]);
      const asWebhook = reason(webhook);
      const asSubscription = reason(subscription);

      expect(webhook).toThrow(WebhookConfigError);
      expect(subscription).toThrow(SubscriptionConfigError);

      expect(asWebhook).toMatch(/^filterPolicy/);
      expect(asWebhook).toBe(asSubscription);
    }
  });

  it('refuses a name whose queue names would pass SQS’s 80 characters for the stage', () => {
    const name = 'A'.repeat(40);
    // 28 characters: "<prefix>-deadletter-<name>" has exactly 80.
    const prefix = 'weiban-forms-staging-eu-west';

    expect(rejection([{ ...STANDARD, name }], { queuePrefix: prefix })).toBe('accepted');
    expect(rejection([{ ...STANDARD, name }], { queuePrefix: `${prefix}2` })).toBe(
      `Invalid "webhooks" param, entry #1 (${name}): name is too long for this stage: its dead-letter queue would be named ${prefix}2-deadletter-${name} (81 characters; SQS allows 80)`,
    );
  });
});

describe('countWebhooks', () => {
  it('counts the endpoints of the param as packaging reads it', () => {
    expect(countWebhooks([])).toBe(0);
    expect(
      countWebhooks(JSON.stringify([STANDARD, { name: 'S', format: 'wecom', urlParam: '/p' }])),
    ).toBe(2);
  });

  it('throws on an invalid param rather than counting it', () => {
    expect(() => countWebhooks([CRM])).toThrow(WebhookConfigError);
  });
});

describe('queueNames', () => {
  it('tells queues and dead-letter queues apart by the word after the stage', () => {
    expect(queueNames('weiban-forms-prod', 'Crm')).toEqual({
      queue: 'weiban-forms-prod-webhook-Crm',
      dlq: 'weiban-forms-prod-deadletter-Crm',
    });
  });
});

describe('webhookResources', () => {
  const webhooks = parseWebhooks([
    { ...STANDARD, filterPolicy: { form_id: [842] } },
    { name: 'Sales', format: 'wecom', urlParam: '/weiban-forms/prod/wecom-sales' },
    {
      name: 'Ops',
      format: 'feishu',
      urlParam: '/weiban-forms/prod/feishu-ops',
      secretParam: '/weiban-forms/prod/feishu-ops-secret',
      filterPolicy: { data: { user_city: ['上海市'] } },
      filterPolicyScope: 'MessageBody',
    },
  ]);
  const [crm, sales, ops] = webhooks;
  if (crm === undefined || sales === undefined || ops === undefined) {
    throw new Error('fixture did not parse');
  }
  const { Resources: resources, Outputs: outputs } = webhookResources(webhooks, SETTINGS);
  const properties = (logicalId: string): Record<string, unknown> => {
    const found = resources[logicalId];
    if (found === undefined) throw new Error(`no ${logicalId}`);
    return found.Properties;
  };

  it('adds exactly the resources docs/webhooks.md lists for each endpoint, and no others', () => {
    const expected = webhooks.flatMap((webhook) => {
      const ids = webhookLogicalIds(webhook.name);
      return [
        [ids.queue, 'AWS::SQS::Queue'],
        [ids.dlq, 'AWS::SQS::Queue'],
        [ids.queuePolicy, 'AWS::SQS::QueuePolicy'],
        [ids.subscription, 'AWS::SNS::Subscription'],
        [ids.eventSource, 'AWS::Lambda::EventSourceMapping'],
        [ids.dlqAlarm, 'AWS::CloudWatch::Alarm'],
        [ids.failingAlarm, 'AWS::CloudWatch::Alarm'],
        [ids.stalledAlarm, 'AWS::CloudWatch::Alarm'],
      ];
    });

    expect(
      Object.entries(resources)
        .map(([logicalId, resource]) => [logicalId, resource.Type])
        .sort(),
    ).toEqual(expected.sort());
    expect(webhookLogicalIds('Crm')).toMatchObject({
      queue: 'WebhookCrmQueue',
      dlq: 'WebhookCrmDlq',
      queuePolicy: 'WebhookCrmQueuePolicy',
      subscription: 'WebhookCrmSubscription',
      eventSource: 'WebhookCrmEventSource',
      dlqAlarm: 'WebhookCrmDlqAlarm',
      failingAlarm: 'WebhookCrmFailingAlarm',
      queueUrlOutput: 'WebhookCrmQueueUrl',
      dlqUrlOutput: 'WebhookCrmDlqUrl',
    });
  });

  it.each([
    ['standard', crm, 360],
    ['robot', sales, 365],
  ])(
    'gives a %s endpoint a queue that keeps 14 days, hides a message 6 × the timeout (plus the batching window) and dead-letters after 100 receives',
    (_kind, webhook, visibility) => {
      const ids = webhookLogicalIds(webhook.name);

      expect(properties(ids.queue)).toEqual({
        QueueName: `weiban-forms-prod-webhook-${webhook.name}`,
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
        VisibilityTimeout: visibility,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
          maxReceiveCount: 100,
        },
      });
      expect(properties(ids.dlq)).toEqual({
        QueueName: `weiban-forms-prod-deadletter-${webhook.name}`,
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      });
    },
  );

  it('lets only the events topic send to the queue and the dead-letter queue', () => {
    const ids = webhookLogicalIds('Crm');

    expect(properties(ids.queuePolicy)).toEqual({
      Queues: [{ Ref: ids.queue }, { Ref: ids.dlq }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TopicDelivers',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: [{ 'Fn::GetAtt': [ids.queue, 'Arn'] }, { 'Fn::GetAtt': [ids.dlq, 'Arn'] }],
            Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'EventsTopic' } } },
          },
        ],
      },
    });
  });

  it('subscribes each queue with raw delivery, its filter policy and the dead-letter queue', () => {
    const subscription = (webhook: Webhook) => {
      const ids = webhookLogicalIds(webhook.name);
      return {
        resource: resources[ids.subscription],
        expected: {
          TopicArn: { Ref: 'EventsTopic' },
          Protocol: 'sqs',
          Endpoint: { 'Fn::GetAtt': [ids.queue, 'Arn'] },
          RawMessageDelivery: true,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
        },
        policy: ids.queuePolicy,
      };
    };

    const forCrm = subscription(crm);
    const forSales = subscription(sales);
    const forOps = subscription(ops);
    expect(forCrm.resource?.Properties).toEqual({
      ...forCrm.expected,
      FilterPolicy: { form_id: [842] },
    });
    expect(forSales.resource?.Properties).toEqual(forSales.expected);
    expect(forOps.resource?.Properties).toEqual({
      ...forOps.expected,
      FilterPolicy: { data: { user_city: ['上海市'] } },
      FilterPolicyScope: 'MessageBody',
    });
    // SNS checks its access to the queue when it subscribes.
    expect(forCrm.resource?.DependsOn).toEqual([forCrm.policy]);
  });

  it('feeds standard endpoints in batches of 10 and robots in batches of 50 gathered for 5 s, two at a time, with partial batch responses', () => {
    const mapping = (webhook: Webhook) => properties(webhookLogicalIds(webhook.name).eventSource);
    const common = {
      FunctionName: { 'Fn::GetAtt': ['DeliverLambdaFunction', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    };

    expect(mapping(crm)).toEqual({
      ...common,
      EventSourceArn: { 'Fn::GetAtt': ['WebhookCrmQueue', 'Arn'] },
      BatchSize: 10,
    });
    for (const robot of [sales, ops]) {
      expect(mapping(robot)).toEqual({
        ...common,
        EventSourceArn: { 'Fn::GetAtt': [webhookLogicalIds(robot.name).queue, 'Arn'] },
        BatchSize: 50,
        MaximumBatchingWindowInSeconds: 5,
      });
    }
  });

  it('alarms on any dead letter and on an event an hour old, to the alarm topic', () => {
    const ids = webhookLogicalIds('Crm');
    const notify = { AlarmActions: [{ Ref: 'AlarmTopic' }], OKActions: [{ Ref: 'AlarmTopic' }] };

    expect(properties(ids.dlqAlarm)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      ...notify,
    });
    expect(properties(ids.failingAlarm)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notify,
    });
  });

  it('alarms when, for an hour, events waited on retries and none left the queue', () => {
    const ids = webhookLogicalIds('Crm');
    const alarm = properties(ids.stalledAlarm);
    const metrics = alarm.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown }; Stat: string };
    }[];
    const queue = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'QueueName'] } }];

    expect(
      metrics.map((each) => [
        each.Id,
        each.MetricStat?.Metric.MetricName ?? each.Expression,
        each.MetricStat?.Stat,
        each.ReturnData,
      ]),
    ).toEqual([
      ['waiting', 'ApproximateNumberOfMessagesNotVisible', 'Minimum', false],
      ['removed', 'NumberOfMessagesDeleted', 'Sum', false],
      ['stalled', 'IF(waiting >= 1 AND FILL(removed, 0) == 0, 1, 0)', undefined, true],
    ]);
    expect(metrics.slice(0, 2).map((each) => each.MetricStat?.Metric.Dimensions)).toEqual([
      queue,
      queue,
    ]);
    expect(alarm).toMatchObject({
      EvaluationPeriods: 12,
      DatapointsToAlarm: 12,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
  });

  it('outputs each queue and dead-letter queue URL', () => {
    for (const webhook of webhooks) {
      const ids = webhookLogicalIds(webhook.name);
      expect(outputs[ids.queueUrlOutput]?.Value).toEqual({ Ref: ids.queue });
      expect(outputs[ids.dlqUrlOutput]?.Value).toEqual({ Ref: ids.dlq });
    }
  });

  it('outputs Webhooks: name, format, queue URLs and rate of each endpoint, and no URL or param', () => {
    const value = outputs.Webhooks?.Value;
    const deployed = substitute(value, deployedValues(webhooks));

    expect(JSON.parse(deployed)).toEqual(
      webhooks.map((webhook) => ({
        name: webhook.name,
        format: webhook.format,
        queueUrl: urlOf(queueNames(SETTINGS.queuePrefix, webhook.name).queue),
        dlqUrl: urlOf(queueNames(SETTINGS.queuePrefix, webhook.name).dlq),
        ratePerMinute: webhook.ratePerMinute,
      })),
    );
    expect(JSON.stringify(value)).not.toMatch(/crm\.example\.com|\/weiban-forms\/prod/);
  });

  it('adds only the empty Webhooks output when there are no webhooks', () => {
    expect(webhookResources([], SETTINGS)).toEqual({
      Resources: {},
      Outputs: { Webhooks: { Description: expect.any(String) as unknown, Value: '[]' } },
    });
  });
});

describe('webhooksEnvironment', () => {
  it('lists every endpoint with its queue ARN and dead-letter queue URL resolved at deploy time', () => {
    const webhooks = parseWebhooks([
      STANDARD,
      { name: 'Ops', format: 'feishu', urlParam: '/p/feishu', secretParam: '/p/feishu-secret' },
      { name: 'Sales', format: 'wecom', urlParam: '/p/wecom', ratePerMinute: 10 },
    ]);
    const value = webhooksEnvironment(webhooks);

    expect(JSON.parse(substitute(value, deployedValues(webhooks)))).toEqual([
      {
        name: 'Crm',
        format: 'standard',
        url: CRM.url,
        secretParam: SECRET,
        ratePerMinute: 600,
        queueArn: arnOf('weiban-forms-prod-webhook-Crm'),
        dlqUrl: urlOf('weiban-forms-prod-deadletter-Crm'),
      },
      {
        name: 'Ops',
        format: 'feishu',
        urlParam: '/p/feishu',
        secretParam: '/p/feishu-secret',
        ratePerMinute: 100,
        queueArn: arnOf('weiban-forms-prod-webhook-Ops'),
        dlqUrl: urlOf('weiban-forms-prod-deadletter-Ops'),
      },
      {
        name: 'Sales',
        format: 'wecom',
        urlParam: '/p/wecom',
        ratePerMinute: 10,
        queueArn: arnOf('weiban-forms-prod-webhook-Sales'),
        dlqUrl: urlOf('weiban-forms-prod-deadletter-Sales'),
      },
    ]);
  });

  it('keeps a "${" in a URL literal rather than a reference', () => {
    const webhooks = parseWebhooks([{ ...STANDARD, url: 'https://crm.example.com/a/${b}' }]);

    const [entry] = JSON.parse(
      substitute(webhooksEnvironment(webhooks), deployedValues(webhooks)),
    ) as { url: string }[];

    expect(entry?.url).toBe('https://crm.example.com/a/${b}');
  });

  it('is an empty list with no webhooks', () => {
    expect(webhooksEnvironment([])).toBe('[]');
    expect(webhooksOutput([])).toBe('[]');
  });
});

describe('deliverStatements', () => {
  const webhooks = parseWebhooks([
    STANDARD,
    { name: 'Sales', format: 'wecom', urlParam: '/weiban-forms/prod/wecom-sales' },
    // The same secret for two robots: one grant.
    {
      name: 'Ops',
      format: 'feishu',
      urlParam: '/weiban-forms/prod/feishu-ops',
      secretParam: SECRET,
    },
  ]);
  const statements = deliverStatements(webhooks);
  const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
  const ids = webhooks.map((webhook) => webhookLogicalIds(webhook.name));

  it('consumes only the webhook queues', () => {
    expect(bySid.ConsumeWebhookQueues).toEqual({
      Sid: 'ConsumeWebhookQueues',
      Effect: 'Allow',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ChangeMessageVisibility',
      ],
      Resource: ids.map((each) => ({ 'Fn::GetAtt': [each.queue, 'Arn'] })),
    });
  });

  it('sends only to the webhook dead-letter queues', () => {
    expect(bySid.DeadLetterWebhooks).toEqual({
      Sid: 'DeadLetterWebhooks',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: ids.map((each) => ({ 'Fn::GetAtt': [each.dlq, 'Arn'] })),
    });
  });

  it('reads exactly the SSM parameters the param names, once each', () => {
    const arn = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
    });

    expect(bySid.ReadWebhookParams).toEqual({
      Sid: 'ReadWebhookParams',
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: [
        arn(SECRET),
        arn('/weiban-forms/prod/wecom-sales'),
        arn('/weiban-forms/prod/feishu-ops'),
      ],
    });
    expect(statements).toHaveLength(3);
  });

  it('grants nothing with no webhooks', () => {
    expect(deliverStatements([])).toEqual([]);
  });
});

describe('the plugin', () => {
  const FUNCTION_ID = 'DeliverLambdaFunction';
  class FrameworkError extends Error {}

  function fakeServerless(webhooks: unknown, resources: Record<string, unknown> = {}) {
    const template = {
      Resources: {
        [FUNCTION_ID]: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Timeout: 60,
            Environment: { Variables: { TABLE_NAME: { Ref: 'FormsTable' }, LOG_LEVEL: 'INFO' } },
          },
        },
        DeliverRole: {
          Type: 'AWS::IAM::Role',
          Properties: { Policies: [{ PolicyName: 'deliver', PolicyDocument: { Statement: [] } }] },
        },
        ...resources,
      } as Record<string, { Type: string; Properties: Record<string, unknown> }>,
      Outputs: {} as Record<string, unknown>,
    };
    const serverless = {
      service: {
        custom: {
          webhooks: {
            topic: 'EventsTopic',
            alarmTopic: 'AlarmTopic',
            function: 'deliver',
            role: 'DeliverRole',
            queuePrefix: 'weiban-forms-prod',
            webhooks,
          },
        },
        provider: { compiledCloudFormationTemplate: template },
      },
      classes: { Error: FrameworkError },
      getProvider: () => ({
        naming: {
          getLambdaLogicalId: (name: string) =>
            `${name[0]?.toUpperCase() ?? ''}${name.slice(1)}LambdaFunction`,
        },
      }),
    };
    return { serverless, template };
  }

  const run = (serverless: unknown, hook: string): void => {
    const handler = new WebhooksPlugin(serverless).hooks[hook];
    if (handler === undefined) throw new Error(`no ${hook} hook`);
    handler();
  };
  const COMPILE = 'after:aws:package:finalize:mergeCustomProviderResources';

  it('fails before bundling with the framework’s error, naming the entry', () => {
    const { serverless } = fakeServerless([{ name: 'Sales', format: 'wecom', url: WECOM_URL }]);

    expect(() => {
      run(serverless, 'before:package:initialize');
    }).toThrow(FrameworkError);
    expect(() => {
      run(serverless, 'before:package:initialize');
    }).toThrow('Invalid "webhooks" param, entry #1 (Sales): url is not allowed for wecom');
  });

  it('gives the function its WEBHOOKS setting and the role a webhooks policy', () => {
    const { serverless, template } = fakeServerless([STANDARD]);

    run(serverless, COMPILE);

    const fn = template.Resources[FUNCTION_ID]?.Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fn.Environment.Variables.WEBHOOKS).toEqual(
      webhooksEnvironment(parseWebhooks([STANDARD])),
    );
    expect(template.Resources.DeliverRole?.Properties.Policies).toEqual([
      { PolicyName: 'deliver', PolicyDocument: { Statement: [] } },
      {
        PolicyName: 'webhooks',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: deliverStatements(parseWebhooks([STANDARD])),
        },
      },
    ]);
    expect(template.Resources.WebhookCrmQueue?.Properties.VisibilityTimeout).toBe(360);
    expect(Object.keys(template.Outputs).sort()).toEqual(
      ['WebhookCrmDlqUrl', 'WebhookCrmQueueUrl', 'Webhooks'].sort(),
    );
  });

  it('with no webhooks sets WEBHOOKS to [] and leaves the role as it is', () => {
    const { serverless, template } = fakeServerless([]);

    run(serverless, COMPILE);

    const fn = template.Resources[FUNCTION_ID]?.Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fn.Environment.Variables.WEBHOOKS).toBe('[]');
    expect(template.Resources.DeliverRole?.Properties.Policies).toHaveLength(1);
    expect(template.Outputs).toEqual({
      Webhooks: expect.objectContaining({ Value: '[]' }) as unknown,
    });
  });

  it('refuses to overwrite a resource of the same logical id', () => {
    const { serverless } = fakeServerless([STANDARD], {
      WebhookCrmQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    });

    expect(() => {
      run(serverless, COMPILE);
    }).toThrow('Webhook resource WebhookCrmQueue already exists');
  });

  it("fails when the endpoints would pass Lambda's 4 KB of environment", () => {
    const many = Array.from({ length: 12 }, (_, index) => ({
      name: `Robot${String(index)}WithAFairlyLongName`,
      format: 'feishu',
      urlParam: `/weiban-forms/prod/robots/feishu-robot-${String(index)}-url`,
      secretParam: `/weiban-forms/prod/robots/feishu-robot-${String(index)}-secret`,
    }));
    const { serverless } = fakeServerless(many);

    expect(() => {
      run(serverless, COMPILE);
    }).toThrow(
      /12 endpoints make the deliver function's environment up to \d+ bytes once deployed; Lambda allows 4096/,
    );
  });

  it('bounds the environment above what CloudFormation can resolve it to', () => {
    const webhooks = parseWebhooks([
      STANDARD,
      { name: 'Sales', format: 'wecom', urlParam: '/weiban-forms/prod/wecom-sales' },
    ]);
    const variables = { LOG_LEVEL: 'INFO', WEBHOOKS: webhooksEnvironment(webhooks) };
    // The longest partition and a long region, for the actual value.
    const longest = Object.fromEntries(
      Object.entries(deployedValues(webhooks)).map(([ref, value]) => [
        ref,
        value
          .replace('arn:aws:', 'arn:aws-us-gov:')
          .replaceAll('ap-northeast-1', 'ap-southeast-7')
          .replace('amazonaws.com/', 'amazonaws.com.cn/'),
      ]),
    );
    const actual =
      'LOG_LEVEL'.length +
      'INFO'.length +
      'WEBHOOKS'.length +
      Buffer.byteLength(substitute(variables.WEBHOOKS, longest));

    const bound = environmentBound(variables, webhooks, SETTINGS.queuePrefix);

    expect(bound).toBeGreaterThanOrEqual(actual);
    expect(bound).toBeLessThan(actual + 100);
  });
});
