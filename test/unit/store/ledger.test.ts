import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

describe('DynamoSubmitterLedger', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('looks u_ids up by (form_id, u_id) with a consistent read and returns their submit_at', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolves({ Responses: { forms: [{ sk: 'U#768', submit_at: 1_619_613_511 }] } });

    const found = await ledger.lookup(842, [768, 769, 768]);

    expect([...found]).toEqual([[768, { submitAt: 1_619_613_511 }]]);
    expect(dynamo).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        forms: {
          Keys: [
            { pk: 'FORM#842', sk: 'U#768' },
            { pk: 'FORM#842', sk: 'U#769' },
          ],
          ConsistentRead: true,
          ProjectionExpression: 'sk, submit_at, last_submit_at',
        },
      },
    });
  });

  it('refuses to guess when keys stay unprocessed: unknown is not new', async () => {
    dynamo.on(BatchGetCommand).resolves({
      Responses: { forms: [] },
      UnprocessedKeys: { forms: { Keys: [{ pk: 'FORM#842', sk: 'U#768' }] } },
    });

    await expect(ledger.lookup(842, [768])).rejects.toBeInstanceOf(StoreWriteError);
  });

  it('records submitters in batches of 25 with a TTL of RETENTION_DAYS', async () => {
    dynamo.on(BatchWriteCommand).resolves({});
    const records = Array.from({ length: 30 }, (_, i) => ({
      uId: i + 1,
      submitAt: 1_700_000_000,
      event: `{"i":${i}}`,
    }));

    await ledger.record(842, records, 1_700_000_100_000);

    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
    expect(dynamo).toHaveReceivedNthCommandWith(BatchWriteCommand, 1, {
      RequestItems: {
        forms: expect.arrayContaining([
          {
            PutRequest: {
              Item: {
                pk: 'FORM#842',
                sk: 'U#1',
                form_id: 842,
                u_id: 1,
                submit_at: 1_700_000_000,
                event: '{"i":0}',
                recorded_at: 1_700_000_100,
                expires_at: 1_700_000_100 + 400 * 86_400,
              },
            },
          },
        ]),
      },
    });
  });

  it('retries unprocessed writes and fails loudly if some never land', async () => {
    const leftover = { PutRequest: { Item: { pk: 'FORM#842', sk: 'U#1' } } };
    dynamo.on(BatchWriteCommand).resolves({ UnprocessedItems: { forms: [leftover] } });

    await expect(ledger.record(842, [{ uId: 1, submitAt: 1, event: '{}' }], 0)).rejects.toThrow(
      /1 published submitter\(s\) of form 842 could not be recorded/,
    );
    expect(dynamo.commandCalls(BatchWriteCommand).length).toBeGreaterThan(1);
  });
});
