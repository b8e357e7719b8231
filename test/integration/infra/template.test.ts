import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyService } from '../../../dev/service-copy.js';
import { extractZip } from '../../../dev/zip.js';
import { queueNames, webhookLogicalIds } from '../../../infra/webhooks-plugin.js';

// Packages the real serverless.yml (`npm run package`, no AWS credentials, no network) with
// three subscriptions and three webhooks, and checks the template an operator would deploy.
const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

const SUBSCRIPTIONS = [
  {
    name: 'Crm',
    protocol: 'https',
    endpoint: 'https://crm.example.com/hooks/weiban',
    filterPolicy: { form_id: [842] },
  },
  {
    protocol: 'sqs',
    endpoint: 'arn:aws:sqs:ap-northeast-1:123456789012:shanghai-intake',
    filterPolicy: { data: { user_city: ['Shanghai'] } },
    filterPolicyScope: 'MessageBody',
    rawMessageDelivery: true,
  },
  {
    protocol: 'lambda',
    endpoint: 'arn:aws:lambda:ap-northeast-1:123456789012:function:crm-sync',
    filterPolicy: { user_city: [{ prefix: '上海' }] },
  },
];

// A CRM with its URL in the template (no key in it), a WeCom and a Feishu robot whose URLs (with
// their keys) stay in SSM.
const WEBHOOKS = [
  {
    name: 'Crm',
    format: 'standard',
    url: 'https://crm.example.com/hooks/weiban',
    secretParam: '/weiban-forms/dev/crm-webhook-secret',
    filterPolicy: { form_id: [842] },
  },
  {
    name: 'SalesGroup',
    format: 'wecom',
    urlParam: '/weiban-forms/dev/wecom-sales-url',
    filterPolicy: { user_city: [{ prefix: '上海' }] },
  },
  {
    name: 'Ops',
    format: 'feishu',
    urlParam: '/weiban-forms/dev/feishu-ops-url',
    secretParam: '/weiban-forms/dev/feishu-ops-secret',
    ratePerMinute: 50,
    filterPolicy: { data: { form_id: [901] } },
    filterPolicyScope: 'MessageBody',
  },
] as const;
const PARAMS = WEBHOOKS.flatMap((webhook) =>
  [
    'urlParam' in webhook ? webhook.urlParam : undefined,
    'secretParam' in webhook ? webhook.secretParam : undefined,
  ].filter((name) => name !== undefined),
);
// Robot URLs, as an operator would keep them in SSM: none of this may reach the template.
const ROBOT_URL_PARTS = [
  'qyapi.weixin.qq.com',
  'open.feishu.cn',
  'oapi.dingtalk.com',
  'key=',
  'access_token=',
];

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Condition?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Json;
}

const scratch: string[] = [];

// Packaging empties the service's .serverless and works in its .esbuild, so it runs on a copy
// of the repository: a developer's own `npm run package` output stays as it was.
async function copyOfService(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'weiban-forms-service-'));
  scratch.push(copy);
  await copyService(root, copy);
  return copy;
}

/** `npm run package` on a copy of the service: the directory of its output, and what it printed. */
async function packageService(params: string[]): Promise<{ output: string; printed: string }> {
  const service = await copyOfService();
  const output = join(service, 'packaged');
  try {
    const { stdout, stderr } = await run(
      'npm',
      ['run', 'package', '--', '--package', output, ...params.map((param) => `--param=${param}`)],
      {
        cwd: service,
        // serverless-esbuild leaves its zip staging directory in TMPDIR; keep it in the copy.
        env: { ...process.env, TMPDIR: await mkdtemp(join(service, 'tmp-')) },
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { output, printed: `${stdout}${stderr}` };
  } catch (error: unknown) {
    if (error instanceof Error && 'stdout' in error && 'stderr' in error) {
      throw new Error(`npm run package failed:\n${String(error.stdout)}${String(error.stderr)}`, {
        cause: error,
      });
    }
    throw error;
  }
}

let packaged: string;
let packagingOutput: string;
let templatePath: string;
let template: Template;

beforeAll(async () => {
  const { output: dir, printed } = await packageService([
    `subscriptions=${JSON.stringify(SUBSCRIPTIONS)}`,
    `webhooks=${JSON.stringify(WEBHOOKS)}`,
    'alarmEmail=ops@example.com',
  ]);
  packaged = dir;
  packagingOutput = printed;
  templatePath = join(dir, 'cloudformation-template-update-stack.json');
  template = JSON.parse(await readFile(templatePath, 'utf8')) as Template;
});

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

function resource(logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (found === undefined) throw new Error(`no ${logicalId} in the template`);
  return found;
}

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, each]) => each.Type === type);
}

/** Every statement of every policy in the template: IAM, key, topic and queue policies. */
function allStatements(): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  const visit = (value: unknown, where: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(item, `${where}[${index}]`);
      });
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'Statement' && Array.isArray(child)) {
        for (const statement of child as Statement[]) found.push({ where, statement });
      } else {
        visit(child, `${where}.${key}`);
      }
    }
  };
  visit(template.Resources, 'Resources');
  return found;
}

function pollStatements(): Statement[] {
  const policies = resource('PollRole').Properties.Policies as {
    PolicyDocument: { Statement: Statement[] };
  }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

function actions(statement: Statement): string[] {
  return statement.Action === undefined ? [] : [statement.Action].flat();
}

/** The subscriptions of the `subscriptions` param (not the alarm mail, not the webhooks). */
function subscriptionIds(): string[] {
  return resourcesOfType('AWS::SNS::Subscription')
    .filter(
      ([logicalId, each]) =>
        each.Properties.Protocol !== 'email' && !logicalId.startsWith('Webhook'),
    )
    .map(([logicalId]) => logicalId);
}

const getAttOf = (value: unknown): [string, string] | undefined =>
  (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];

describe('the packaged template', () => {
  it('passes cfn-lint with no errors or warnings', async () => {
    const result = await run('cfn-lint', [templatePath]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: unknown) => ({
        code: error instanceof Error && 'code' in error ? error.code : 'failed',
        stdout: error instanceof Error && 'stdout' in error ? String(error.stdout) : String(error),
      }),
    );

    expect(result).toEqual({ code: 0, stdout: '' });
  });

  // Deny statements may be broad: the deployment bucket's (generated by the framework) denies
  // s3:* without TLS. What is granted must be named.
  it('grants no wildcard action in any policy', () => {
    const allows = allStatements().filter(({ statement }) => statement.Effect === 'Allow');
    const wildcards = allows.filter(
      ({ statement }) =>
        statement.NotAction !== undefined ||
        actions(statement).some((action) => action === '*' || action.endsWith(':*')),
    );

    expect(wildcards).toEqual([]);
    expect(allows.length).toBeGreaterThan(5);
  });

  it('runs the poller on nodejs24.x, arm64, one at a time, with its own role', () => {
    const poll = resource('PollLambdaFunction').Properties;

    expect(poll).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 1,
      Timeout: 70,
      MemorySize: 256,
      Handler: 'functions/poll.handler',
    });
    expect(poll.Role).toEqual({ 'Fn::Sub': '${PollRole.Arn}' });
    expect(
      resourcesOfType('AWS::IAM::Role')
        .map(([logicalId]) => logicalId)
        .sort(),
    ).toEqual(['DeliverRole', 'PollRole']);
  });

  it('schedules the poller every minute by default, and tells it that period and its pass interval', () => {
    const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
    const variables = (resource('PollLambdaFunction').Properties.Environment as { Variables: Json })
      .Variables;

    // Passes end before the next invocation only if the function knows the schedule's period.
    expect(variables).toMatchObject({ SCHEDULE_PERIOD_SECONDS: '60', POLL_INTERVAL_SECONDS: '4' });
    expect(rules).toEqual([
      expect.objectContaining({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          expect.objectContaining({ Arn: { 'Fn::GetAtt': ['PollLambdaFunction', 'Arn'] } }),
        ],
      }),
    ]);
  });

  it('gives the poller every setting of the configuration contract', () => {
    const variables = (resource('PollLambdaFunction').Properties.Environment as { Variables: Json })
      .Variables;

    expect(variables).toMatchObject({
      WEIBAN_BASE_URL: 'https://open.weibanzhushou.com',
      WEIBAN_SECRET_PARAM: '/weiban-forms/dev/weiban-secret',
      TABLE_NAME: { Ref: 'FormsTable' },
      TOPIC_ARN: { Ref: 'EventsTopic' },
      START_FROM: 'now',
      LOOKBACK_SECONDS: '600',
      PAGE_SIZE: '100',
      WEIBAN_LARGER_PAGES: 'auto',
      WEIBAN_TRUST_TIME_FILTER: 'auto',
      WEIBAN_CORP_WIDE_LISTING: 'auto',
      WEIBAN_MAX_IN_FLIGHT: '4',
      WEIBAN_MAX_PER_MINUTE: '500',
      RETENTION_DAYS: '400',
      POWERTOOLS_SERVICE_NAME: 'weiban-forms-dev',
      POWERTOOLS_METRICS_NAMESPACE: 'WeibanForms',
    });
    for (const name of [
      'WEIBAN_CORP_ID',
      'FORM_IDS',
      'ANSWER_FORM_IDS',
      'EMIT_RESUBMISSIONS',
      'LOG_LEVEL',
    ]) {
      expect(variables).toHaveProperty(name);
    }
    expect(variables).not.toHaveProperty('WEIBAN_SECRET');
  });

  it("scopes the poller's table, topic, key, secret and log permissions to this stack", () => {
    const bySid: Record<string, Statement> = Object.fromEntries(
      pollStatements().map((statement) => [statement.Sid, statement]),
    );

    expect(pollStatements().every((statement) => statement.Effect === 'Allow')).toBe(true);
    expect(pollStatements().flatMap((statement) => [statement.Resource].flat())).not.toContain('*');
    expect(bySid.FormsTable?.Resource).toEqual([
      { 'Fn::GetAtt': ['FormsTable', 'Arn'] },
      { 'Fn::Sub': '${FormsTable.Arn}/index/*' },
    ]);
    expect(bySid.PublishEvents).toMatchObject({
      Action: 'sns:Publish',
      Resource: { Ref: 'EventsTopic' },
    });
    expect(bySid.EncryptEvents).toMatchObject({
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': ['EventsKey', 'Arn'] },
    });
    expect(bySid.ReadWeibanSecret).toMatchObject({
      Action: 'ssm:GetParameter',
      Resource: {
        'Fn::Join': [
          '/',
          {
            'Fn::Split': [
              '//',
              {
                'Fn::Sub':
                  'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter//weiban-forms/dev/weiban-secret',
              },
            ],
          },
        ],
      },
    });
    expect(bySid.OwnLogGroup).toMatchObject({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': ['PollLogGroup', 'Arn'] },
    });
    expect(actions(bySid.FormsTable ?? { Effect: 'Allow' }).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
  });

  it('keeps the table: on demand, TTL, point-in-time recovery, encryption, retained', () => {
    const table = resource('FormsTable');

    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(resourcesOfType('AWS::DynamoDB::Table')).toHaveLength(1);
  });

  it('encrypts the events topic with a rotating key of its own and refuses publishing without TLS', () => {
    const policies = resourcesOfType('AWS::SNS::TopicPolicy')
      .map(([, policy]) => policy.Properties)
      .filter(
        (properties) =>
          JSON.stringify(properties.Topics) === JSON.stringify([{ Ref: 'EventsTopic' }]),
      );

    expect(resource('EventsTopic').Properties.KmsMasterKeyId).toEqual({ Ref: 'EventsKey' });
    expect(resource('EventsKey').Properties.EnableKeyRotation).toBe(true);
    expect(policies).toHaveLength(1);
    expect((policies[0]?.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('gives every subscription of the events topic its filter policy', () => {
    const subscriptions = subscriptionIds().map((logicalId) => resource(logicalId).Properties);

    expect(
      subscriptions.map((properties) => [
        properties.Protocol,
        properties.Endpoint,
        properties.FilterPolicy,
      ]),
    ).toEqual(SUBSCRIPTIONS.map((sub) => [sub.protocol, sub.endpoint, sub.filterPolicy]));
  });

  // Every AWS::SNS::Subscription in the template, the alarm email's included; a webhook's,
  // whose queue policy also covers its delivery queue, is checked with the webhooks below.
  it('gives every subscription a dead-letter queue of its own that its topic may send to, with an alarm and an output', () => {
    const subscriptions = resourcesOfType('AWS::SNS::Subscription').filter(
      ([logicalId]) => !logicalId.startsWith('Webhook'),
    );
    const queuePolicies = resourcesOfType('AWS::SQS::QueuePolicy');
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, each]) => each);

    const outputs = Object.values(template.Outputs).map((output) => output.Value);

    const found = subscriptions.map(([logicalId, subscription]) => {
      const queue = getAttOf(
        (subscription.Properties.RedrivePolicy as Json | undefined)?.deadLetterTargetArn,
      );
      const queueId = queue?.[0] ?? '';
      const [policyId, policy] =
        queuePolicies.find(
          ([, each]) =>
            JSON.stringify(each.Properties.Queues) === JSON.stringify([{ Ref: queueId }]),
        ) ?? [];
      const alarm = alarms.find(
        (each) =>
          each.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(each.Properties.Dimensions) ===
            JSON.stringify([
              { Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } },
            ]),
      );
      return {
        logicalId,
        queue,
        queueProperties: template.Resources[queueId]?.Properties,
        policy: policy?.Properties.PolicyDocument,
        subscribedAfterPolicy: [subscription.DependsOn].flat().includes(policyId),
        alarm: alarm?.Properties,
        // What exists only with an alarm email exists only with it.
        conditions: [template.Resources[queueId], policy, alarm].map((part) => part?.Condition),
        output: outputs.some((value) => JSON.stringify(value) === JSON.stringify({ Ref: queueId })),
      };
    });

    expect(subscriptions.map(([, each]) => each.Properties.Protocol).sort()).toEqual([
      'email',
      'https',
      'lambda',
      'sqs',
    ]);
    expect(new Set(found.map((each) => each.queue?.[0])).size).toBe(subscriptions.length);
    expect(found).toEqual(
      subscriptions.map(([logicalId, subscription]) => {
        const queueId = found.find((each) => each.logicalId === logicalId)?.queue?.[0] ?? 'none';
        return {
          logicalId,
          queue: [queueId, 'Arn'],
          queueProperties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
          policy: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'TopicDeadLetters',
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
                Condition: { ArnEquals: { 'aws:SourceArn': subscription.Properties.TopicArn } },
              },
            ],
          },
          subscribedAfterPolicy: true,
          alarm: expect.objectContaining({
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
            AlarmActions: [{ Ref: 'AlarmTopic' }],
          }),
          conditions: Array(3).fill(subscription.Condition),
          output: true,
        };
      }),
    );
  });

  it('outputs the topic ARN, signs with SHA256, paces https deliveries and may invoke a Lambda', () => {
    const byProtocol = (protocol: string) =>
      subscriptionIds()
        .map((logicalId) => resource(logicalId))
        .filter((each) => each.Properties.Protocol === protocol);

    expect(template.Outputs.EventsTopicArn?.Value).toEqual({ Ref: 'EventsTopic' });
    // docs/consuming.md tells HTTPS consumers to verify SignatureVersion 2 (SHA256withRSA).
    expect(resource('EventsTopic').Properties.SignatureVersion).toBe('2');
    expect(byProtocol('https').map((each) => each.Properties.DeliveryPolicy)).toEqual([
      expect.objectContaining({
        healthyRetryPolicy: expect.objectContaining({ numRetries: 20, maxDelayTarget: 300 }),
        throttlePolicy: { maxReceivesPerSecond: 10 },
      }),
    ]);
    expect(byProtocol('sqs').map((each) => each.Properties.DeliveryPolicy)).toEqual([undefined]);
    const [lambda] = byProtocol('lambda');
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
      ([, each]) => each.Properties.Principal === 'sns.amazonaws.com',
    );
    expect(permissions.map(([logicalId, each]) => [logicalId, each.Properties])).toEqual([
      [
        expect.stringMatching(/^EventsSubscription\w+Permission$/),
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: SUBSCRIPTIONS[2]?.endpoint,
          Principal: 'sns.amazonaws.com',
          SourceArn: { Ref: 'EventsTopic' },
        },
      ],
    ]);
    expect(lambda?.DependsOn).toContain(permissions[0]?.[0]);
  });

  it('alarms on errors, a 10-minute stall, Weiban 10053 and every dead-letter queue', () => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const dlqAlarms = resourcesOfType('AWS::CloudWatch::Alarm').filter(
      ([logicalId, alarm]) =>
        !logicalId.startsWith('Webhook') &&
        alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible',
    );

    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'PollLambdaFunction' } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'WeibanForms',
        MetricName: 'runs_ok',
        Period: 60,
        EvaluationPeriods: 10,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'weiban_errors',
        Dimensions: expect.arrayContaining([{ Name: 'errcode', Value: '10053' }]) as unknown,
      }),
    );
    // One per subscription, and one for the alarm email's.
    expect(dlqAlarms).toHaveLength(SUBSCRIPTIONS.length + 1);
    expect(
      alarms.every((alarm) => JSON.stringify(alarm.AlarmActions) === '[{"Ref":"AlarmTopic"}]'),
    ).toBe(true);
    expect(resource('AlarmTopic').Properties.KmsMasterKeyId).toEqual({ Ref: 'EventsKey' });
    expect(resource('AlarmEmailSubscription')).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } },
    });
  });
});

/** Resolves an Fn::Sub string as CloudFormation would, with `values` for its references. */
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

/** What CloudFormation resolves each webhook queue's Ref and Arn to in account 123456789012. */
function deployedQueues(): Record<string, string> {
  return Object.fromEntries(
    WEBHOOKS.flatMap((webhook) => {
      const ids = webhookLogicalIds(webhook.name);
      const names = queueNames('weiban-forms-dev', webhook.name);
      const url = (name: string) => `https://sqs.ap-northeast-1.amazonaws.com/123456789012/${name}`;
      const arn = (name: string) => `arn:aws:sqs:ap-northeast-1:123456789012:${name}`;
      return [
        [ids.queue, url(names.queue)],
        [`${ids.queue}.Arn`, arn(names.queue)],
        [ids.dlq, url(names.dlq)],
        [`${ids.dlq}.Arn`, arn(names.dlq)],
      ];
    }),
  );
}

function deliverStatements(): Statement[] {
  const policies = resource('DeliverRole').Properties.Policies as {
    PolicyName: string;
    PolicyDocument: { Statement: Statement[] };
  }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

describe('the webhooks', () => {
  it.each(WEBHOOKS.map((webhook) => [webhook.name, webhook] as const))(
    '%s has its own queue and dead-letter queue',
    (name, webhook) => {
      const ids = webhookLogicalIds(name);
      const robot = webhook.format !== 'standard';

      expect(resource(ids.queue)).toEqual({
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `weiban-forms-dev-webhook-${name}`,
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
          // 6 × the deliver function's 60 s, plus the robots' 5 s batching window.
          VisibilityTimeout: robot ? 365 : 360,
          RedrivePolicy: { deadLetterTargetArn: getAtt(ids.dlq), maxReceiveCount: 100 },
        },
      });
      expect(resource(ids.dlq)).toEqual({
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `weiban-forms-dev-deadletter-${name}`,
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        },
      });
      expect(
        (resource(ids.queuePolicy).Properties.PolicyDocument as { Statement: Statement[] })
          .Statement,
      ).toEqual([
        {
          Sid: 'TopicDelivers',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: [getAtt(ids.queue), getAtt(ids.dlq)],
          Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'EventsTopic' } } },
        },
      ]);
    },
  );

  it.each(WEBHOOKS.map((webhook) => [webhook.name, webhook] as const))(
    '%s is subscribed with its filter policy and raw delivery',
    (name, webhook) => {
      const ids = webhookLogicalIds(name);

      expect(resource(ids.subscription).Properties).toEqual({
        TopicArn: { Ref: 'EventsTopic' },
        Protocol: 'sqs',
        Endpoint: getAtt(ids.queue),
        RawMessageDelivery: true,
        RedrivePolicy: { deadLetterTargetArn: getAtt(ids.dlq) },
        FilterPolicy: webhook.filterPolicy,
        ...('filterPolicyScope' in webhook && { FilterPolicyScope: webhook.filterPolicyScope }),
      });
    },
  );

  it.each(WEBHOOKS.map((webhook) => [webhook.name, webhook] as const))(
    '%s feeds the deliver function with partial batch responses, two at a time',
    (name, webhook) => {
      const ids = webhookLogicalIds(name);

      expect(resource(ids.eventSource)).toEqual({
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: getAtt(ids.queue),
          FunctionName: getAtt('DeliverLambdaFunction'),
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 2 },
          ...(webhook.format === 'standard'
            ? { BatchSize: 10 }
            : { BatchSize: 50, MaximumBatchingWindowInSeconds: 5 }),
        },
      });
    },
  );

  it.each(WEBHOOKS.map((webhook) => webhook.name))(
    '%s alarms on a dead letter and on an event an hour old, and outputs its queue URLs',
    (name) => {
      const ids = webhookLogicalIds(name);

      expect(resource(ids.dlqAlarm).Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(ids.dlq, 'QueueName') }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
      expect(resource(ids.failingAlarm).Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(ids.queue, 'QueueName') }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 3600,
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
      expect(resource(ids.stalledAlarm).Properties).toMatchObject({
        EvaluationPeriods: 12,
        DatapointsToAlarm: 12,
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
      expect(template.Outputs[ids.queueUrlOutput]?.Value).toEqual({ Ref: ids.queue });
      expect(template.Outputs[ids.dlqUrlOutput]?.Value).toEqual({ Ref: ids.dlq });
    },
  );

  it('outputs Webhooks for the CLI: names, formats, queue URLs and rates, and no URL or param', () => {
    const output = template.Outputs.Webhooks?.Value;
    const text = JSON.stringify(output);

    expect(JSON.parse(substitute(output, deployedQueues()))).toEqual([
      {
        name: 'Crm',
        format: 'standard',
        queueUrl: deployedQueues().WebhookCrmQueue,
        dlqUrl: deployedQueues().WebhookCrmDlq,
        ratePerMinute: 600,
      },
      {
        name: 'SalesGroup',
        format: 'wecom',
        queueUrl: deployedQueues().WebhookSalesGroupQueue,
        dlqUrl: deployedQueues().WebhookSalesGroupDlq,
        ratePerMinute: 20,
      },
      {
        name: 'Ops',
        format: 'feishu',
        queueUrl: deployedQueues().WebhookOpsQueue,
        dlqUrl: deployedQueues().WebhookOpsDlq,
        ratePerMinute: 50,
      },
    ]);
    expect(text).not.toContain('crm.example.com');
    for (const name of PARAMS) expect(text).not.toContain(name);
  });

  it('runs the deliver function on nodejs24.x, arm64, with its own role, and tells it every endpoint', () => {
    const deliver = resource('DeliverLambdaFunction').Properties;
    const variables = (deliver.Environment as { Variables: Json }).Variables;

    expect(deliver).toMatchObject({
      Handler: 'functions/deliver.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 60,
      MemorySize: 256,
      Role: { 'Fn::Sub': '${DeliverRole.Arn}' },
    });
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: 'FormsTable' },
      POWERTOOLS_SERVICE_NAME: 'weiban-forms-dev',
      POWERTOOLS_METRICS_NAMESPACE: 'WeibanForms',
    });
    expect(variables).toHaveProperty('LOG_LEVEL');
    expect(variables).not.toHaveProperty('WEBHOOK_ALLOW_LOOPBACK');
    const queues = deployedQueues();
    expect(JSON.parse(substitute(variables.WEBHOOKS, queues))).toEqual(
      WEBHOOKS.map((webhook) => {
        const ids = webhookLogicalIds(webhook.name);
        return {
          name: webhook.name,
          format: webhook.format,
          ...('url' in webhook && { url: webhook.url }),
          ...('urlParam' in webhook && { urlParam: webhook.urlParam }),
          ...('secretParam' in webhook && { secretParam: webhook.secretParam }),
          ratePerMinute:
            'ratePerMinute' in webhook
              ? webhook.ratePerMinute
              : webhook.format === 'standard'
                ? 600
                : 20,
          queueArn: queues[`${ids.queue}.Arn`],
          dlqUrl: queues[ids.dlq],
        };
      }),
    );
    expect(resource('DeliverLogGroup').Properties.LogGroupName).toBe(
      '/aws/lambda/weiban-forms-dev-deliver',
    );
  });

  it('gives the deliver role named actions on exactly its queues, params, table and log group', () => {
    const statements = deliverStatements();
    const queues = WEBHOOKS.map((webhook) => getAtt(webhookLogicalIds(webhook.name).queue));
    const dlqs = WEBHOOKS.map((webhook) => getAtt(webhookLogicalIds(webhook.name).dlq));
    const grants = statements.flatMap((statement) =>
      actions(statement).map((action) => [action, [statement.Resource].flat()] as const),
    );
    const on = (action: string) =>
      grants.filter(([granted]) => granted === action).flatMap(([, resources]) => resources);
    const ssmArn = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
    });

    expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
    expect(statements.some((statement) => statement.NotAction !== undefined)).toBe(false);
    expect(grants.flatMap(([action, resources]) => [action, ...resources])).not.toContain('*');
    expect([...new Set(grants.map(([action]) => action))].sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'ssm:GetParameter',
      ].sort(),
    );
    for (const action of [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ChangeMessageVisibility',
    ]) {
      expect(on(action)).toEqual(queues);
    }
    expect(on('sqs:SendMessage')).toEqual(dlqs);
    expect(on('ssm:GetParameter')).toEqual(PARAMS.map(ssmArn));
    // The table only: not its index, which the delivery never reads.
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]) {
      expect(on(action)).toEqual([getAtt('FormsTable')]);
    }
    expect(on('logs:PutLogEvents')).toEqual([getAtt('DeliverLogGroup')]);
  });

  it('carries no robot URL or key anywhere: robots appear only by the names of their SSM params', async () => {
    const text = await readFile(templatePath, 'utf8');

    for (const part of ROBOT_URL_PARTS) expect(text).not.toContain(part);
    for (const webhook of WEBHOOKS.filter((each) => each.format !== 'standard')) {
      expect(text).toContain(webhook.urlParam);
    }
  });
});

describe('the packaged function', () => {
  // package.json says "type": "module"; Lambda must still load the bundle as CommonJS.
  it('is a CommonJS bundle that loads in Node and exports the handler', async () => {
    const unpacked = join(packaged, 'unzipped');
    const listing = (await extractZip(join(packaged, 'weiban-forms.zip'), unpacked)).join('\n');

    const { stdout } = await run(
      process.execPath,
      ['-e', 'process.stdout.write(typeof require("./functions/poll.cjs").handler)'],
      {
        cwd: unpacked,
        env: {
          PATH: process.env.PATH,
          // The runtime provides @aws-sdk/*; here the repository's copy stands in.
          NODE_PATH: join(root, 'node_modules'),
          AWS_REGION: 'ap-northeast-1',
          WEIBAN_CORP_ID: 'corp-1',
          WEIBAN_SECRET_PARAM: '/weiban-forms/test/weiban-secret',
          FORM_IDS: '842',
          TABLE_NAME: 'weiban-forms-test',
          TOPIC_ARN: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-test-events',
        },
      },
    );

    expect(stdout).toBe('function');
    expect(listing).toContain('functions/poll.cjs');
    expect(listing).toContain('functions/deliver.cjs');
    expect(listing).not.toContain('package.json');
    expect(listing).not.toMatch(/node_modules\/@aws-sdk/);
  });
});

describe('npm run package', () => {
  it('warns, naming the stage and the param, when a stage has no subscriptions', async () => {
    const { printed } = await packageService([]);

    expect(printed).toContain(
      'Warning: Stage "dev" has no subscriptions and no webhooks (its "subscriptions" and "webhooks" params are empty): it will publish every event to a topic nobody reads.',
    );
    expect(packagingOutput).not.toContain('has no subscriptions and no webhooks');
  });

  it('fails with the bad subscription named', async () => {
    const failure = await packageService([
      `subscriptions=${JSON.stringify([
        { protocol: 'sqs', endpoint: 'arn:aws:sqs:ap-northeast-1:123456789012:q' },
        { protocol: 'email', endpoint: 'ops@example.com' },
      ])}`,
    ]).then(
      () => 'packaged',
      (error: unknown) => String(error),
    );

    expect(failure).toContain(
      'Invalid "subscriptions" param, entry #2 (email ops@example.com): protocol must be one of https, sqs, lambda',
    );
  });

  it('fails with the bad webhook named, and without repeating a robot URL', async () => {
    const robotUrl = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0b6e2c47-5a1d-4c9e-8f3a';
    const failure = await packageService([
      `webhooks=${JSON.stringify([WEBHOOKS[0], { name: 'SalesGroup', format: 'wecom', url: robotUrl }])}`,
    ]).then(
      () => 'packaged',
      (error: unknown) => String(error),
    );
    // npm echoes the command it runs ("> osls package … --param=…"); the rest is what
    // packaging itself printed.
    const printed = failure
      .split('\n')
      .filter((line) => !line.startsWith('> ') && !line.includes('Command failed:'))
      .join('\n');

    expect(printed).toContain(
      'Invalid "webhooks" param, entry #2 (SalesGroup): url is not allowed for wecom',
    );
    expect(printed).not.toContain('qyapi');
    expect(printed).not.toContain('0b6e2c47');
  });
});

describe('npm run package with webhooks: [] (the default)', () => {
  let empty: Template;
  let emptyPath: string;

  beforeAll(async () => {
    emptyPath = join(
      (await packageService([])).output,
      'cloudformation-template-update-stack.json',
    );
    empty = JSON.parse(await readFile(emptyPath, 'utf8')) as Template;
  });

  it('has the deliver function with no event source, no webhook resource and an empty Webhooks output', () => {
    const deliver = empty.Resources.DeliverLambdaFunction?.Properties;
    const role = empty.Resources.DeliverRole?.Properties.Policies as { PolicyName: string }[];

    expect((deliver?.Environment as { Variables: Json }).Variables.WEBHOOKS).toBe('[]');
    expect(
      Object.keys(empty.Resources).filter((logicalId) => logicalId.startsWith('Webhook')),
    ).toEqual([]);
    expect(
      Object.values(empty.Resources).filter(
        (each) => each.Type === 'AWS::Lambda::EventSourceMapping',
      ),
    ).toEqual([]);
    expect(role.map((policy) => policy.PolicyName)).toEqual(['deliver']);
    expect(empty.Outputs.Webhooks?.Value).toBe('[]');
  });

  it('passes cfn-lint', async () => {
    await expect(run('cfn-lint', [emptyPath])).resolves.toMatchObject({ stdout: '' });
  });
});
