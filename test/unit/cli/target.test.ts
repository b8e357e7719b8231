import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError, UsageError } from '../../../cli/errors.js';
import {
  requireTopic,
  resolveRegion,
  resolveTarget,
  withStageSecret,
} from '../../../cli/target.js';

const cloudFormation = new CloudFormationClient({
  region: 'ap-northeast-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const cfn = mockClient(cloudFormation);

describe('which deployment a command works on', () => {
  beforeEach(() => {
    cfn.reset();
  });

  it('reads the table, topic and corp from the stage’s stack outputs, and keeps every output', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'weiban-forms-prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'FormsTableName', OutputValue: 'weiban-forms-prod' },
            {
              OutputKey: 'EventsTopicArn',
              OutputValue: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-prod-events',
            },
            { OutputKey: 'WeibanCorpId', OutputValue: 'corp-1' },
            { OutputKey: 'Webhooks', OutputValue: '[]' },
          ],
        },
      ],
    });

    const target = await resolveTarget({ stage: 'prod' }, {}, () => cloudFormation);

    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'weiban-forms-prod',
    });
    expect(target).toEqual({
      tableName: 'weiban-forms-prod',
      topicArn: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-prod-events',
      label: 'stack weiban-forms-prod (ap-northeast-1)',
      corpId: 'corp-1',
      // Every output, for the commands that need more (the webhook commands read Webhooks).
      stack: {
        name: 'weiban-forms-prod',
        outputs: new Map([
          ['FormsTableName', 'weiban-forms-prod'],
          ['EventsTopicArn', 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-prod-events'],
          ['WeibanCorpId', 'corp-1'],
          ['Webhooks', '[]'],
        ]),
      },
    });
  });

  it('says which stack and region were not found', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: 'Stack with id weiban-forms-qa does not exist',
      }),
    );

    await expect(resolveTarget({ stage: 'qa' }, {}, () => cloudFormation)).rejects.toThrow(
      new CliError(
        'stack weiban-forms-qa does not exist in ap-northeast-1: check --stage and --region',
      ),
    );
  });

  it('says when the region is the stage’s region from serverless.yml, in the label and when the stack is missing', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'weiban-forms-prod' })
      .resolves({
        Stacks: [
          {
            StackName: 'weiban-forms-prod',
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date(),
            Outputs: [
              { OutputKey: 'FormsTableName', OutputValue: 'weiban-forms-prod' },
              { OutputKey: 'EventsTopicArn', OutputValue: 'arn:aws:sns:ap-northeast-1:1:t' },
            ],
          },
        ],
      })
      .on(DescribeStacksCommand, { StackName: 'weiban-forms-qa' })
      .rejects(
        new CloudFormationServiceException({
          name: 'ValidationError',
          $fault: 'client',
          $metadata: {},
          message: 'Stack with id weiban-forms-qa does not exist',
        }),
      );
    const fromFile = { region: 'ap-northeast-1', from: 'serverless.yml' } as const;

    const target = await resolveTarget({ stage: 'prod' }, {}, () => cloudFormation, fromFile);
    const missing = resolveTarget({ stage: 'qa' }, {}, () => cloudFormation, fromFile);

    expect(target.label).toBe(
      "stack weiban-forms-prod (ap-northeast-1, the stage's region in serverless.yml)",
    );
    await expect(missing).rejects.toThrow(
      "stack weiban-forms-qa does not exist in ap-northeast-1 (the stage's region in serverless.yml): check --stage and --region",
    );
  });

  it('uses --table and --topic, or TABLE_NAME and TOPIC_ARN, without asking CloudFormation', async () => {
    const fromFlags = await resolveTarget(
      { table: 't1', topic: 'arn:1' },
      { TABLE_NAME: 'other' },
      () => cloudFormation,
    );
    const fromEnv = await resolveTarget(
      {},
      { TABLE_NAME: 't2', TOPIC_ARN: 'arn:2' },
      () => cloudFormation,
    );

    expect(fromFlags).toEqual({ tableName: 't1', topicArn: 'arn:1', label: 'table t1' });
    expect(fromEnv).toEqual({ tableName: 't2', topicArn: 'arn:2', label: 'table t2' });
    expect(cfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses an unnamed deployment, --stage with --table, and a bad stage name', async () => {
    await expect(resolveTarget({}, {}, () => cloudFormation)).rejects.toBeInstanceOf(UsageError);
    await expect(
      resolveTarget({ stage: 'prod', table: 't' }, {}, () => cloudFormation),
    ).rejects.toThrow('use either --stage or --table/--topic, not both');
    await expect(resolveTarget({ stage: 'prod;rm' }, {}, () => cloudFormation)).rejects.toThrow(
      '--stage must be letters, digits and dashes',
    );
  });

  it('needs a topic only for commands that publish', () => {
    const target = { tableName: 't', topicArn: undefined, label: 'table t' };

    expect(() => requireTopic(target, 'replay')).toThrow(
      'replay publishes to the events topic: pass --topic ARN or --stage STAGE, or set TOPIC_ARN',
    );
  });

  it('reads the secret from the stage’s SSM parameter unless a secret is configured', () => {
    expect(withStageSecret({ WEIBAN_CORP_ID: 'c' }, 'prod')).toEqual({
      WEIBAN_CORP_ID: 'c',
      WEIBAN_SECRET_PARAM: '/weiban-forms/prod/weiban-secret',
    });
    expect(withStageSecret({ WEIBAN_SECRET: 's' }, 'prod')).toEqual({ WEIBAN_SECRET: 's' });
    expect(withStageSecret({}, undefined)).toEqual({});
  });
});

describe('which AWS region a command uses', () => {
  const inFile = (stage: string) => (stage === 'qa' ? 'eu-west-1' : undefined);

  it.each([
    [
      '--region first',
      { region: 'us-west-2', stage: 'qa' },
      { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-2' },
      { region: 'us-west-2', from: '--region' },
    ],
    [
      'then AWS_REGION',
      { stage: 'qa' },
      { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-2' },
      { region: 'us-east-1', from: 'AWS_REGION' },
    ],
    [
      'then AWS_DEFAULT_REGION',
      { stage: 'qa' },
      { AWS_REGION: ' ', AWS_DEFAULT_REGION: 'us-east-2' },
      { region: 'us-east-2', from: 'AWS_DEFAULT_REGION' },
    ],
    [
      'then the stage’s region in serverless.yml',
      { stage: 'qa' },
      {},
      { region: 'eu-west-1', from: 'serverless.yml' },
    ],
    [
      'else the SDK’s own choice, for a stage serverless.yml gives none',
      { stage: 'other' },
      {},
      { region: undefined, from: undefined },
    ],
    ['else the SDK’s own choice, without --stage', {}, {}, { region: undefined, from: undefined }],
  ])('takes %s', (_label, flags, env, expected) => {
    expect(resolveRegion(flags, env, inFile)).toEqual(expected);
  });

  it('reads serverless.yml only when neither the flag nor the environment names a region', () => {
    const stageRegion = vi.fn(inFile);

    resolveRegion({ stage: 'qa', region: 'us-west-2' }, {}, stageRegion);
    resolveRegion({ stage: 'qa' }, { AWS_DEFAULT_REGION: 'us-east-2' }, stageRegion);
    resolveRegion({ stage: 'qa' }, {}, stageRegion);

    expect(stageRegion.mock.calls).toEqual([['qa']]);
  });
});
