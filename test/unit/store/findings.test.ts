import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoFindingsStore, FindingsFormatError } from '../../../lib/store/findings.js';
import { bestFindings } from '../../fixtures/findings.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoFindingsStore({
  client: dynamo as unknown as DynamoDBDocumentClient,
  tableName: 'forms',
  corpId: 'corp-1',
});

describe('DynamoFindingsStore', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('saves the findings as one corp item with the form and time they were learned', async () => {
    dynamo.on(PutCommand).resolves({});
    const findings = bestFindings();

    await store.save(findings);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'forms',
      Item: {
        pk: 'CORP#corp-1',
        sk: 'FINDINGS',
        version: 1,
        form_id: 842,
        learned_at: findings.learnedAt,
        findings: JSON.stringify(findings),
      },
    });
  });

  it('reads the saved findings back with a consistent read', async () => {
    const findings = bestFindings();
    dynamo.on(GetCommand).resolves({ Item: { findings: JSON.stringify(findings) } });

    await expect(store.load()).resolves.toEqual(findings);
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'forms',
      Key: { pk: 'CORP#corp-1', sk: 'FINDINGS' },
      ConsistentRead: true,
    });
  });

  it('reads nothing when no probe was saved', async () => {
    dynamo.on(GetCommand).resolves({});

    await expect(store.load()).resolves.toBeUndefined();
  });

  it.each([
    ['no findings text', { form_id: 842 }, /no findings text/],
    ['text that is not JSON', { findings: '{' }, /are not JSON/],
    [
      'findings of another version',
      { findings: JSON.stringify({ ...bestFindings(), version: 2 }) },
      /cannot be read: version/,
    ],
  ])('refuses an item with %s', async (_label, Item, message) => {
    dynamo.on(GetCommand).resolves({ Item });

    const load = store.load();

    await expect(load).rejects.toBeInstanceOf(FindingsFormatError);
    await expect(load).rejects.toThrow(message);
  });
});
