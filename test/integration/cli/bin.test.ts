import { randomUUID } from 'node:crypto';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatTime } from '../../../cli/format.js';
import { createTable } from '../../../dev/table.js';
import { DynamoFormStateStore } from '../../../lib/store/form-state.js';
import { awsClients, type AwsClients } from '../../support/aws.js';
import { launch } from './processes.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('the weiban-forms executable', () => {
  let aws: AwsClients;
  const tableName = `cli-bin-${randomUUID().slice(0, 8)}`;
  const cursor = Math.floor(Date.now() / 1000) - (3 * 86_400 + 2 * 3_600 + 30);

  beforeAll(async () => {
    const moto = inject('motoEndpoint');
    aws = awsClients({
      dynamoEndpoint: inject('dynamoEndpoint'),
      snsEndpoint: moto,
      sqsEndpoint: moto,
    });
    await createTable(aws.dynamo, tableName);
    await new DynamoFormStateStore({ client: aws.doc, tableName }).create(
      842,
      { cursor, origin: cursor, startMode: 'time' },
      Date.now(),
    );
  });
  afterAll(() => {
    aws.destroy();
  });

  it('answers npx weiban-forms --help from the repository root', async () => {
    const run = await launch('npx', ['weiban-forms', '--help'], { marker: randomUUID() }).done;

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: weiban-forms <command> [options]');
    for (const command of ['status', 'replay', 'backfill', 'reset', 'token-check']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('reaches the emulators through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const run = await launch('node', ['bin/weiban-forms.js', 'status', '--table', tableName], {
      marker: randomUUID(),
      env: {
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    }).done;

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^842 +${formatTime(cursor)} +3d 2h +— +0 +never `, 'm'));
  });

  it('finds a stage in the region serverless.yml gives it when no region is set, and says so', async () => {
    // moto keeps each region apart: the stack exists only in ap-northeast-1.
    const moto = inject('motoEndpoint');
    const stage = `r${randomUUID().slice(0, 8)}`;
    const aws = { region: 'ap-northeast-1', endpoint: moto, credentials };
    const sns = new SNSClient(aws);
    const cloudFormation = new CloudFormationClient(aws);
    const { TopicArn: topicArn } = await sns.send(new CreateTopicCommand({ Name: stage }));
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: `weiban-forms-${stage}`,
        TemplateBody: JSON.stringify({
          Resources: {
            Marker: { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${stage}-m` } },
          },
          Outputs: {
            FormsTableName: { Value: tableName },
            EventsTopicArn: { Value: topicArn },
          },
        }),
      }),
    );
    sns.destroy();
    cloudFormation.destroy();
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_SNS: moto,
      AWS_ENDPOINT_URL_CLOUDFORMATION: moto,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // No region anywhere: not in the environment, not in a profile.
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };

    const run = await launch('node', ['bin/weiban-forms.js', 'status', '--stage', stage], {
      marker: randomUUID(),
      env,
    }).done;
    const elsewhere = await launch(
      'node',
      ['bin/weiban-forms.js', 'status', '--stage', stage, '--region', 'us-east-1'],
      { marker: randomUUID(), env },
    ).done;

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^stack weiban-forms-${stage} \\(ap-northeast-1, the stage's region in serverless\\.yml\\) · `,
      ),
    );
    expect(run.stdout).toMatch(new RegExp(`^842 +${formatTime(cursor)} `, 'm'));
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toBe(
      `error: stack weiban-forms-${stage} does not exist in us-east-1: check --stage and --region\n`,
    );
  });

  it('fails in one sentence with exit code 2 on an unknown flag', async () => {
    const run = await launch('node', ['bin/weiban-forms.js', 'status', '--tabel', 'x'], {
      marker: randomUUID(),
    }).done;

    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: Unknown option '--tabel' (see weiban-forms status --help)\n");
  });
});
