import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchGetCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { loadConfig } from '../../lib/config.js';
import { createPollService } from '../../lib/service.js';
import { listBody, submitter } from '../fixtures/weiban.js';
import { validEnv } from '../support/env.js';
import { json, scriptedFetch } from '../support/fake-fetch.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const NOW_S = 1_800_000_000;
const TABLE = 'weiban-forms-test';

const state = {
  pk: 'FORM#842',
  sk: 'STATE',
  form_id: 842,
  version: 3,
  cursor: NOW_S - 60,
  origin: NOW_S - 86_400,
  start_mode: 'now',
};

function service() {
  const fake = scriptedFetch((url) =>
    url.pathname.endsWith('/access_token/get')
      ? json({ errcode: 0, errmsg: 'ok', access_token: 'token-abcdef', expires_in: 7200 })
      : {
          body: listBody([
            submitter({ u_id: 1, submit_at: NOW_S - 10 }),
            submitter({ u_id: 2, submit_at: NOW_S - 20 }),
          ]),
        },
  );
  return createPollService({
    config: loadConfig(
      validEnv({ FORM_IDS: '842', TABLE_NAME: TABLE, POLL_INTERVAL_SECONDS: '60' }),
    ),
    clients: {
      dynamo: dynamo as unknown as DynamoDBDocumentClient,
      sns: sns as unknown as SNSClient,
      ssm: new SSMClient({ region: 'us-east-1' }),
    },
    log: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    clock: new VirtualClock({ startMs: NOW_S * 1000 }),
    fetch: fake.fetch,
  });
}

describe('a run over the real adapters, with AWS mocked', () => {
  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    dynamo.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      const keys = input.RequestItems?.[TABLE]?.Keys ?? [];
      const isStateRead = keys.some((key) => key.sk === 'STATE');
      return { Responses: { [TABLE]: isStateRead ? [state] : [] } };
    });
    dynamo.on(GetCommand).resolves({});
    dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) =>
      input.Key?.pk === 'FORMS'
        ? { Attributes: { form_ids: new Set([842]), removed: {} } }
        : input.ReturnValues === 'ALL_NEW'
          ? {
              Attributes: {
                ...state,
                version: 4,
                lease_owner: 'run-1',
                lease_until: NOW_S * 1000 + 65_000,
              },
            }
          : {},
    );
    dynamo.on(BatchWriteCommand).resolves({});
  });

  it('keeps the cursor after a partial PublishBatch failure and records only what SNS took', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      const entries = input.PublishBatchRequestEntries ?? [];
      const refused = entries.filter((entry) => (entry.Message ?? '').includes('"u_id":2'));
      return {
        Successful: entries
          .filter((entry) => !refused.includes(entry))
          .map((entry) => ({ Id: entry.Id, MessageId: 'x' })),
        Failed: refused.map((entry) => ({
          Id: entry.Id,
          Code: 'InternalError',
          SenderFault: false,
          Message: 'try later',
        })),
      };
    });

    const { summary } = await service().run({ runId: 'run-1', remainingMs: () => 60_000 });

    expect(summary.forms[0]).toMatchObject({
      outcome: 'failed',
      published: 1,
      failed: 1,
      cursor: NOW_S - 60,
    });
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        [TABLE]: [
          expect.objectContaining({ PutRequest: { Item: expect.objectContaining({ u_id: 1 }) } }),
        ],
      },
    });
    const stateWrites = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.Key?.sk === 'STATE' && input.ReturnValues !== 'ALL_NEW');
    expect(stateWrites).toHaveLength(1);
    expect(stateWrites[0]).toMatchObject({
      ConditionExpression: 'lease_owner = :owner',
      ExpressionAttributeValues: {
        ':owner': 'run-1',
        ':error': expect.objectContaining({ name: 'PublishError' }),
      },
    });
    expect(stateWrites[0]?.UpdateExpression).not.toContain('#cursor');
    expect(stateWrites[0]?.UpdateExpression).toContain('REMOVE lease_owner, lease_until');
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('moves the cursor to the window end and releases the lease when every event is published', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: (input.PublishBatchRequestEntries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: 'x',
      })),
      Failed: [],
    }));

    const { summary } = await service().run({ runId: 'run-1', remainingMs: () => 60_000 });

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 2, cursor: NOW_S });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'FORM#842', sk: 'STATE' },
      ConditionExpression: 'lease_owner = :owner',
      ExpressionAttributeValues: expect.objectContaining({ ':cursor': NOW_S, ':owner': 'run-1' }),
    });
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
  });

  it('polls with a function shorter than the configured deadline margin, keeping a quarter for the margin', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: (input.PublishBatchRequestEntries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: 'x',
      })),
      Failed: [],
    }));
    const started = Date.now();
    // A 5 s function with DEADLINE_MARGIN_MS at its 10 s default.
    const remainingMs = () => 5_000 - (Date.now() - started);

    const { summary } = await service().run({ runId: 'run-1', remainingMs });

    expect(summary.forms[0]).toMatchObject({ outcome: 'ok', published: 2, cursor: NOW_S });
  });
});
