import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

describe('the deliver function at cold start', () => {
  beforeEach(() => {
    dynamo.reset();
    sqs.reset();
    vi.resetModules();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('fails on a bad WEBHOOKS entry, naming the variable, the entry and the field', async () => {
    vi.stubEnv('TABLE_NAME', 'forms');
    vi.stubEnv(
      'WEBHOOKS',
      JSON.stringify([
        {
          name: 'sales',
          format: 'wecom',
          url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send',
          queueArn: 'arn:aws:sqs:ap-northeast-1:123456789012:q',
          dlqUrl: 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/d',
        },
      ]),
    );

    const loading = import('../../../functions/deliver.js');

    await expect(loading).rejects.toMatchObject({ name: 'ConfigError', variable: 'WEBHOOKS' });
    await expect(loading).rejects.toThrow(/^WEBHOOKS #1 \(sales\) url cannot hold a robot URL/);
    expect(dynamo.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('loads with no webhooks at all: the function exists without event sources', async () => {
    vi.stubEnv('TABLE_NAME', 'forms');
    vi.stubEnv('WEBHOOKS', '');

    const module = await import('../../../functions/deliver.js');

    expect(typeof module.handler).toBe('function');
  });
});
