import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyService } from '../../../dev/service-copy.js';
import { extractZip } from '../../../dev/zip.js';

// Packages the real serverless.yml (`npm run package`, no AWS credentials, no network) with
// two subscriptions, and checks the template an operator would deploy.
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

/** `npm run package` on a copy of the service; resolves to the directory of its output. */
async function packageService(params: string[]): Promise<string> {
  const service = await copyOfService();
  const output = join(service, 'packaged');
  try {
    await run(
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
    return output;
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
let templatePath: string;
let template: Template;

beforeAll(async () => {
  const dir = await packageService([
    `subscriptions=${JSON.stringify(SUBSCRIPTIONS)}`,
    'alarmEmail=ops@example.com',
  ]);
  packaged = dir;
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

function subscriptionIds(): string[] {
  return resourcesOfType('AWS::SNS::Subscription')
    .filter(([, each]) => each.Properties.Protocol !== 'email')
    .map(([logicalId]) => logicalId);
}

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
      Timeout: 60,
      MemorySize: 512,
      Handler: 'functions/poll.handler',
    });
    expect(poll.Role).toEqual({ 'Fn::Sub': '${PollRole.Arn}' });
    expect(resourcesOfType('AWS::IAM::Role').map(([logicalId]) => logicalId)).toEqual(['PollRole']);
  });

  it('schedules the poller every minute by default', () => {
    const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties);

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

  it('gives every subscription its filter policy and a dead-letter queue of its own', () => {
    const subscriptions = subscriptionIds().map((logicalId) => resource(logicalId).Properties);
    const deadLetterQueues = subscriptions.map(
      (properties) =>
        (
          (properties.RedrivePolicy as Json).deadLetterTargetArn as {
            'Fn::GetAtt': [string, string];
          }
        )['Fn::GetAtt'][0],
    );

    expect(
      subscriptions.map((properties) => [
        properties.Protocol,
        properties.Endpoint,
        properties.FilterPolicy,
      ]),
    ).toEqual(SUBSCRIPTIONS.map((sub) => [sub.protocol, sub.endpoint, sub.filterPolicy]));
    expect(new Set(deadLetterQueues).size).toBe(SUBSCRIPTIONS.length);
    for (const queue of deadLetterQueues) {
      expect(resource(queue).Properties).toEqual({
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      });
      expect(Object.values(template.Outputs).map((output) => output.Value)).toContainEqual({
        Ref: queue,
      });
    }
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
    const dlqAlarms = alarms.filter(
      (alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible',
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
    expect(dlqAlarms).toHaveLength(SUBSCRIPTIONS.length);
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
    expect(listing).not.toContain('package.json');
    expect(listing).not.toMatch(/node_modules\/@aws-sdk/);
  });
});

describe('npm run package', () => {
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
});
