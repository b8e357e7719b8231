import { SNSClient } from '@aws-sdk/client-sns';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validEnv } from '../support/env.js';
import { lambdaContext } from '../support/lambda-context.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);

// docs/guarantees.md#config: each variable, set to something wrong, and what the cold start must
// say.
const bad: [variable: string, overrides: Record<string, string | undefined>][] = [
  ['WEIBAN_BASE_URL', { WEIBAN_BASE_URL: 'open.weibanzhushou.com' }],
  ['WEIBAN_CORP_ID', { WEIBAN_CORP_ID: undefined }],
  ['WEIBAN_SECRET_PARAM', { WEIBAN_SECRET: undefined, WEIBAN_SECRET_PARAM: undefined }],
  ['FORM_IDS', { FORM_IDS: '842;901' }],
  ['TABLE_NAME', { TABLE_NAME: undefined }],
  ['TOPIC_ARN', { TOPIC_ARN: 'weiban-events' }],
  ['START_FROM', { START_FROM: 'last tuesday' }],
  ['LOOKBACK_SECONDS', { LOOKBACK_SECONDS: 'ten minutes' }],
  ['PAGE_SIZE', { PAGE_SIZE: '5000' }],
  ['WEIBAN_MAX_IN_FLIGHT', { WEIBAN_MAX_IN_FLIGHT: '8' }],
  ['WEIBAN_MAX_PER_MINUTE', { WEIBAN_MAX_PER_MINUTE: '0' }],
  ['RETENTION_DAYS', { RETENTION_DAYS: '-1' }],
  ['ANSWER_FORM_IDS', { ANSWER_FORM_IDS: '842,abc' }],
  ['EMIT_RESUBMISSIONS', { EMIT_RESUBMISSIONS: '1' }],
];

describe('the handler at cold start', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    vi.resetModules();
  });

  afterEach(() => {
    for (const key of Object.keys(process.env))
      if (!(key in saved)) Reflect.deleteProperty(process.env, key);
    Object.assign(process.env, saved);
  });

  it.each(bad)(
    'fails on a bad %s, naming it, before anything is written',
    async (variable, overrides) => {
      for (const [key, value] of Object.entries(validEnv(overrides))) {
        if (value === undefined) Reflect.deleteProperty(process.env, key);
        else process.env[key] = value;
      }

      const loading = import('../../functions/poll.js');

      await expect(loading).rejects.toMatchObject({ name: 'ConfigError', variable });
      await expect(loading).rejects.toThrow(new RegExp(`^${variable} `));
      expect(dynamo.calls()).toHaveLength(0);
      expect(sns.calls()).toHaveLength(0);
    },
  );

  it('names the EventBridge event id on its log lines, so a double delivery shows', async () => {
    Object.assign(process.env, validEnv(), { LOG_LEVEL: 'INFO', AWS_REGION: 'us-east-1' });
    dynamo.on(BatchGetCommand).rejects(new Error('table unreachable'));
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../functions/poll.js');

    const context = lambdaContext({
      awsRequestId: 'req-1',
      getRemainingTimeInMillis: () => 60_000,
    });
    await handler({ id: 'evt-7f3a', source: 'aws.events' }, context).catch(() => undefined);
    write.mockRestore();

    expect(lines.join('')).toContain('"eventId":"evt-7f3a"');
  });

  it('loads with a valid environment and exports the handler', async () => {
    Object.assign(process.env, validEnv());

    const module = await import('../../functions/poll.js');

    expect(module.handler).toBeTypeOf('function');
  });
});
