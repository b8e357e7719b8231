import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreWriteError } from '../../../lib/errors.js';
import { DynamoSubmitterLedger } from '../../../lib/store/ledger.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const ledger = new DynamoSubmitterLedger({
  client: dynamo as unknown as DynamoDBDocumentClient,
  tableName: 'forms',
  retentionDays: 400,
});

const NOW_MS = 1_700_000_200_000;
const NOW_S = 1_700_000_200;
const EXPIRES_AT = NOW_S + 400 * 86_400;
const resubmission = {
  uId: 768,
  submitAt: 1_700_000_100,
  event: '{"type":"weiban.form.resubmitted"}',
  resubmitted: true,
};

describe('DynamoSubmitterLedger with resubmissions', () => {
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({});
  });

  it("stores a resubmission's event beside the first submission's record, outside by_submit_at", async () => {
    await ledger.record(842, [resubmission], NOW_MS);

    expect(dynamo).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        forms: [
          {
            PutRequest: {
              Item: {
                pk: 'FORM#842',
                sk: 'R#768#1700000100',
                form_id: 842,
                u_id: 768,
                resubmit_at: 1_700_000_100,
                event: '{"type":"weiban.form.resubmitted"}',
                recorded_at: NOW_S,
                expires_at: EXPIRES_AT,
              },
            },
          },
        ],
      },
    });
  });

  it('moves the first submission record to the new submit_at and leaves its event alone', async () => {
    await ledger.record(842, [resubmission], NOW_MS);

    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'forms',
      Key: { pk: 'FORM#842', sk: 'U#768' },
      UpdateExpression: 'SET last_submit_at = :at, expires_at = :expires',
      ConditionExpression:
        'submit_at < :at AND (attribute_not_exists(last_submit_at) OR last_submit_at < :at)',
      ExpressionAttributeValues: { ':at': 1_700_000_100, ':expires': EXPIRES_AT },
    });
  });

  it('writes a first submission whole and updates nothing', async () => {
    await ledger.record(842, [{ uId: 769, submitAt: 1_700_000_000, event: '{}' }], NOW_MS);

    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(dynamo).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        forms: [
          {
            PutRequest: {
              Item: expect.objectContaining({ sk: 'U#769', submit_at: 1_700_000_000 }),
            },
          },
        ],
      },
    });
  });

  it('takes a record already at that submit_at or later as recorded', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'refused', $metadata: {} }));

    await expect(ledger.record(842, [resubmission], NOW_MS)).resolves.toBeUndefined();
  });

  it('fails when the record cannot move forward, so the run keeps its cursor', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    await expect(ledger.record(842, [resubmission], NOW_MS)).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
  });

  it('never moves the record forward when the event itself was not stored', async () => {
    const leftover = { PutRequest: { Item: { pk: 'FORM#842', sk: 'R#768#1700000100' } } };
    dynamo.on(BatchWriteCommand).resolves({ UnprocessedItems: { forms: [leftover] } });

    await expect(ledger.record(842, [resubmission], NOW_MS)).rejects.toBeInstanceOf(
      StoreWriteError,
    );
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it('reports the latest submit_at of a submitter who resubmitted', async () => {
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        forms: [
          { sk: 'U#768', submit_at: 1_700_000_000, last_submit_at: 1_700_000_100 },
          { sk: 'U#769', submit_at: 1_700_000_050 },
        ],
      },
    });

    const found = await ledger.lookup(842, [768, 769]);

    expect(Object.fromEntries(found)).toEqual({
      768: { submitAt: 1_700_000_100 },
      769: { submitAt: 1_700_000_050 },
    });
    expect(dynamo).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        forms: expect.objectContaining({ ProjectionExpression: 'sk, submit_at, last_submit_at' }),
      },
    });
  });
});
