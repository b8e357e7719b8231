import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  GetCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseHeldError, StateConflictError } from '../../../lib/errors.js';
import { DynamoFormStateStore } from '../../../lib/store/form-state.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoFormStateStore({
  client: dynamo as unknown as DynamoDBDocumentClient,
  tableName: 'forms',
});
const stateItem = {
  pk: 'FORM#842',
  sk: 'STATE',
  form_id: 842,
  version: 4,
  cursor: 1_700_000_000,
  origin: 1_690_000_000,
  start_mode: 'now',
  lease_owner: 'run-a',
  lease_until: 5_000,
};
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('DynamoFormStateStore', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('reads every form state in one consistent BatchGet and maps the item', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { forms: [stateItem] } });

    const { states } = await store.read([842, 901], false);

    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        forms: {
          Keys: [
            { pk: 'FORM#842', sk: 'STATE' },
            { pk: 'FORM#901', sk: 'STATE' },
          ],
          ConsistentRead: true,
        },
      },
    });
    expect(states.get(842)).toEqual({
      formId: 842,
      version: 4,
      cursor: 1_700_000_000,
      origin: 1_690_000_000,
      startMode: 'now',
      lease: { owner: 'run-a', until: 5_000 },
    });
    expect(states.has(901)).toBe(false);
  });

  it('splits more than 100 forms over several BatchGets and retries unprocessed keys', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => i + 1);
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { forms: [] },
        UnprocessedKeys: { forms: { Keys: [{ pk: 'FORM#1', sk: 'STATE' }] } },
      })
      .resolves({ Responses: { forms: [] } });

    await store.read(ids, false);

    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 3);
  });

  it("creates a new form state only if none exists, and returns the racing run's state if one does (G7)", async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...stateItem, start_mode: 'time' } });

    const state = await store.create(842, { cursor: 1, origin: 1, startMode: 'now' }, 1_000);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(state.startMode).toBe('time');
  });

  it('takes the lease only when it is free, expired or already ours', async () => {
    dynamo.on(UpdateCommand).resolves({
      Attributes: { ...stateItem, version: 5, lease_owner: 'run-b', lease_until: 9_000 },
    });

    const state = await store.acquireLease(842, 'run-b', 9_000, 6_000);

    expect(state.lease).toEqual({ owner: 'run-b', until: 9_000 });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)',
      ExpressionAttributeValues: { ':owner': 'run-b', ':until': 9_000, ':now': 6_000, ':one': 1 },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('reports a lease held by another run as LeaseHeldError', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());

    await expect(store.acquireLease(842, 'run-b', 9_000, 4_000)).rejects.toBeInstanceOf(
      LeaseHeldError,
    );
  });

  it('renews only its own lease, only while it holds, and leaves the version alone', async () => {
    dynamo.on(UpdateCommand).resolves({});

    await store.renewLease(842, 'run-a', 30_000, 12_000);

    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET lease_until = :until, updated_at = :now',
      ConditionExpression: 'lease_owner = :owner AND lease_until >= :now',
      ExpressionAttributeValues: { ':owner': 'run-a', ':until': 30_000, ':now': 12_000 },
    });
  });

  it('reports a lapsed or taken lease on renewal as LeaseHeldError', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());

    await expect(store.renewLease(842, 'run-a', 30_000, 12_000)).rejects.toBeInstanceOf(
      LeaseHeldError,
    );
  });

  it('moves the cursor under the lease, clears the continuation and releases the lease', async () => {
    dynamo.on(UpdateCommand).resolves({});

    await store.commit(
      842,
      { kind: 'lease', owner: 'run-a' },
      { cursor: 1_700_000_060, continuation: null, error: null, ok: true },
      7_000,
    );

    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression:
        'SET updated_at = :now, #cursor = :cursor, last_ok_at = :now REMOVE continuation, last_error, lease_owner, lease_until ADD #version :one',
      ConditionExpression: 'lease_owner = :owner',
      ExpressionAttributeValues: {
        ':now': 7_000,
        ':one': 1,
        ':cursor': 1_700_000_060,
        ':owner': 'run-a',
      },
    });
  });

  it('saves a continuation without touching the cursor', async () => {
    dynamo.on(UpdateCommand).resolves({});
    const continuation = { start: 100, end: 200, offset: 300 };

    await store.commit(842, { kind: 'lease', owner: 'run-a' }, { continuation }, 7_000);

    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression:
        'SET updated_at = :now, continuation = :continuation REMOVE lease_owner, lease_until ADD #version :one',
      ExpressionAttributeValues: {
        ':now': 7_000,
        ':one': 1,
        ':continuation': continuation,
        ':owner': 'run-a',
      },
    });
  });

  it('reports a lost guard as StateConflictError', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());

    await expect(
      store.commit(842, { kind: 'version', version: 3 }, { cursor: 9 }, 7_000),
    ).rejects.toBeInstanceOf(StateConflictError);
  });

  it('commits idle forms in one transaction, guarded by version and a free lease', async () => {
    dynamo.on(TransactWriteCommand).resolves({});

    const committed = await store.commitMany(
      [
        { formId: 842, version: 4, change: { cursor: 60 } },
        { formId: 901, version: 2, change: { cursor: 60 } },
      ],
      7_000,
    );

    expect([...committed.committed]).toEqual([842, 901]);
    expect([...committed.conflicted]).toEqual([]);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        expect.objectContaining({
          Update: expect.objectContaining({
            Key: { pk: 'FORM#842', sk: 'STATE' },
            ConditionExpression:
              '#version = :version AND (attribute_not_exists(lease_until) OR lease_until < :now)',
          }),
        }),
        expect.objectContaining({
          Update: expect.objectContaining({ Key: { pk: 'FORM#901', sk: 'STATE' } }),
        }),
      ],
    });
  });

  it('notes an error under a new version, so that an idle write guarded by the old one cannot erase it', async () => {
    dynamo.on(UpdateCommand).resolves({});

    await store.noteError(842, { name: 'TransportError', message: 'timeout', at: 7_000 });

    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'FORM#842', sk: 'STATE' },
      UpdateExpression: 'SET last_error = :error, updated_at = :now ADD #version :one',
    });
  });

  it('names the forms whose guard failed in a cancelled transaction, and sends it once', async () => {
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
      }),
    );

    const result = await store.commitMany(
      [
        { formId: 842, version: 4, change: { cursor: 60 } },
        { formId: 901, version: 2, change: { cursor: 60 } },
      ],
      7_000,
    );

    // All or nothing: 842 is neither, for a later pass to send again.
    expect([...result.committed]).toEqual([]);
    expect([...result.conflicted]).toEqual([901]);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });
});
