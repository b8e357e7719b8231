import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startMoto } from '../../../dev/emulators.js';
import { createTable, tablePropertiesFromServerlessYml } from '../../../dev/table.js';
import { createTopicWithQueue, receiveAll } from '../../../dev/topic.js';
import { awsClients, type AwsClients } from '../../support/aws.js';

let aws: AwsClients;

beforeAll(() => {
  const moto = inject('motoEndpoint');
  aws = awsClients({
    dynamoEndpoint: inject('dynamoEndpoint'),
    snsEndpoint: moto,
    sqsEndpoint: moto,
  });
});

afterAll(() => {
  aws.destroy();
});

const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

describe('a table created from serverless.yml', () => {
  const tableName = uniqueName('infra-forms');

  beforeAll(async () => {
    await createTable(aws.dynamo, tableName);
  });

  it('has the keys, GSI and billing that serverless.yml declares', async () => {
    const declared = tablePropertiesFromServerlessYml();

    const { Table: table } = await aws.dynamo.send(
      new DescribeTableCommand({ TableName: tableName }),
    );

    expect(table?.TableStatus).toBe('ACTIVE');
    expect(table?.KeySchema).toEqual(declared.KeySchema);
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'by_submit_at',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'submit_at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }),
    ]);
  });

  it('has TTL on the attribute serverless.yml names', async () => {
    const { TimeToLiveDescription: ttl } = await aws.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );

    expect(ttl).toEqual({ AttributeName: 'expires_at', TimeToLiveStatus: 'ENABLED' });
  });

  it('answers a by_submit_at query newest first within a partition', async () => {
    const pk = 'form#842';
    for (const [sk, submitAt] of [
      ['user#1', 1_700_000_100],
      ['user#2', 1_700_000_300],
      ['user#3', 1_700_000_200],
    ] as const) {
      await aws.doc.send(
        new PutCommand({ TableName: tableName, Item: { pk, sk, submit_at: submitAt } }),
      );
    }

    const { Items: items } = await aws.doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'by_submit_at',
        KeyConditionExpression: 'pk = :pk AND submit_at >= :from',
        ExpressionAttributeValues: { ':pk': pk, ':from': 1_700_000_150 },
        ScanIndexForward: false,
      }),
    );

    expect(items?.map((item): unknown => item.sk)).toEqual(['user#2', 'user#3']);
  });
});

describe('a topic with a subscribed queue in moto', () => {
  it('delivers a published message with its attributes', async () => {
    const { topicArn, queueUrl } = await createTopicWithQueue({
      sns: aws.sns,
      sqs: aws.sqs,
      name: uniqueName('infra-events'),
    });
    const event = {
      id: 'weiban:corp:842:768',
      type: 'weiban.form.submitted',
      data: { form_id: 842 },
    };

    await aws.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(event),
        MessageAttributes: {
          event_type: { DataType: 'String', StringValue: 'weiban.form.submitted' },
          form_id: { DataType: 'Number', StringValue: '842' },
        },
      }),
    );
    const messages = await receiveAll(aws.sqs, queueUrl, { expected: 1 });

    expect(messages).toHaveLength(1);
    expect(messages[0]?.body).toEqual(event);
    expect(messages[0]?.attributes).toEqual({
      event_type: { Type: 'String', Value: 'weiban.form.submitted' },
      form_id: { Type: 'Number', Value: '842' },
    });
  });

  it('delivers only what the filter policy selects', async () => {
    const { topicArn, queueUrl } = await createTopicWithQueue({
      sns: aws.sns,
      sqs: aws.sqs,
      name: uniqueName('infra-filtered'),
      filterPolicy: { user_city: ['Shanghai'] },
    });
    for (const city of ['Beijing', 'Shanghai', 'Shenzhen']) {
      await aws.sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: JSON.stringify({ city }),
          MessageAttributes: { user_city: { DataType: 'String', StringValue: city } },
        }),
      );
    }

    const messages = await receiveAll(aws.sqs, queueUrl, { idleMs: 1_500 });

    expect(messages.map((message) => message.body)).toEqual([{ city: 'Shanghai' }]);
  });

  it('delivers the bare message with raw delivery', async () => {
    const { topicArn, queueUrl } = await createTopicWithQueue({
      sns: aws.sns,
      sqs: aws.sqs,
      name: uniqueName('infra-raw'),
      rawMessageDelivery: true,
    });

    await aws.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify({ n: 1 }),
        MessageAttributes: { form_id: { DataType: 'Number', StringValue: '901' } },
      }),
    );
    const messages = await receiveAll(aws.sqs, queueUrl, { expected: 1 });

    expect(messages.map((message) => [message.body, message.attributes])).toEqual([
      [{ n: 1 }, { form_id: { Type: 'Number', Value: '901' } }],
    ]);
  });
});

describe('moto started from a shell with an AWS profile and a proxy set, and no AWS keys', () => {
  // botocore inside moto would read the profile, or look for keys on the instance metadata
  // service through the proxy, and answer HTTP 500.
  it('answers query and REST requests without reading the profile or looking for keys', async () => {
    const shell = {
      AWS_PROFILE: 'a-profile-no-config-file-has',
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
    };
    const saved = Object.fromEntries(Object.keys(shell).map((name) => [name, process.env[name]]));
    const setEnv = (values: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    };
    setEnv(shell);
    const moto = await startMoto().finally(() => {
      setEnv(saved);
    });
    const options = {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    };
    const sqs = new SQSClient(options);
    const lambda = new LambdaClient(options);
    try {
      const { QueueUrl: queueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: 'profile-check' }),
      );
      const { Functions: functions } = await lambda.send(new ListFunctionsCommand({}));

      expect(queueUrl).toMatch(/\/profile-check$/);
      expect(functions).toEqual([]);
    } finally {
      sqs.destroy();
      lambda.destroy();
      await moto.stop();
    }
  });
});
