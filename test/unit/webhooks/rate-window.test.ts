import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { DynamoWebhookRate } from '../../../lib/store/webhook-rate.js';
import {
  EMPTY_WINDOW,
  freeSlots,
  nextFreeAt,
  take,
  upcomingSlots,
} from '../../../lib/webhooks/rate-window.js';

const wecom = { perMinute: 20 };
const feishu = { perMinute: 100, perSecond: 5 };
const t0 = 1_788_229_380_000;

describe('the send window', () => {
  it('allows 20 WeCom sends in any 61 s and tells when the next is free', () => {
    const { state, granted } = take(EMPTY_WINDOW, wecom, t0, 25);

    expect(granted).toBe(20);
    expect(freeSlots(state, wecom, t0 + 60_999)).toBe(0);
    expect(nextFreeAt(state, wecom, t0)).toBe(t0 + 61_000);
    expect(freeSlots(state, wecom, t0 + 61_000)).toBe(20);
  });

  it('slides: sends leave the window one by one as they age', () => {
    let state = EMPTY_WINDOW;
    for (let i = 0; i < 20; i += 1) state = take(state, wecom, t0 + i * 1_000, 1).state;

    expect(freeSlots(state, wecom, t0 + 30_000)).toBe(0);
    expect(nextFreeAt(state, wecom, t0 + 30_000)).toBe(t0 + 61_000);
    expect(freeSlots(state, wecom, t0 + 62_000)).toBe(2);
  });

  it('holds Feishu to 5 in any 2 s as well as 100 a minute', () => {
    const first = take(EMPTY_WINDOW, feishu, t0, 10);

    expect(first.granted).toBe(5);
    expect(take(first.state, feishu, t0 + 1_999, 1).granted).toBe(0);
    expect(nextFreeAt(first.state, feishu, t0)).toBe(t0 + 2_000);
    expect(take(first.state, feishu, t0 + 2_000, 10).granted).toBe(5);
  });

  it('spreads waiting messages over the sends to come, one send each', () => {
    let state = EMPTY_WINDOW;
    for (let i = 0; i < 20; i += 1) state = take(state, wecom, t0 + i * 3_000, 1).state;

    const slots = upcomingSlots(state, wecom, t0 + 57_000, 3);

    expect(slots).toEqual([t0 + 61_000, t0 + 64_000, t0 + 67_000]);
    expect(upcomingSlots(EMPTY_WINDOW, feishu, t0, 7)).toEqual([
      t0,
      t0,
      t0,
      t0,
      t0,
      t0 + 2_000,
      t0 + 2_000,
    ]);
  });

  it('sends nothing while blocked', () => {
    const blocked = { sent: [], blockedUntil: t0 + 600_000 };

    expect(freeSlots(blocked, wecom, t0)).toBe(0);
    expect(nextFreeAt(blocked, wecom, t0)).toBe(t0 + 600_000);
  });
});

describe('the shared send window in the table', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  let clock: VirtualClock;
  let rate: DynamoWebhookRate;

  beforeEach(() => {
    dynamo.reset();
    clock = new VirtualClock({ startMs: t0 });
    rate = new DynamoWebhookRate({
      client: dynamo as unknown as DynamoDBDocumentClient,
      tableName: 'forms',
      clock,
    });
  });

  it('takes a send with a write conditioned on the version it read', async () => {
    dynamo.on(GetCommand).resolves({
      Item: { pk: 'WEBHOOK#sales', sk: 'RATE', sent: [t0 - 1_000], blocked_until: 0, version: 7 },
    });
    dynamo.on(PutCommand).resolves({});

    const grant = await rate.take('sales', wecom, 1);

    expect(grant.granted).toBe(1);
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'forms',
      Key: { pk: 'WEBHOOK#sales', sk: 'RATE' },
      ConsistentRead: true,
    });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'forms',
      ConditionExpression: 'attribute_not_exists(pk) OR version = :version',
      ExpressionAttributeValues: { ':version': 7 },
      Item: expect.objectContaining({
        pk: 'WEBHOOK#sales',
        sk: 'RATE',
        version: 8,
        sent: [t0 - 1_000, expect.any(Number)],
      }),
    });
  });

  it('reads again and retries when another sender wrote in between, so both cannot take the last send', async () => {
    const full = Array.from({ length: 19 }, (_, i) => t0 - 10_000 + i);
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: { sent: full, blocked_until: 0, version: 1 } })
      .resolves({ Item: { sent: [...full, t0 - 1], blocked_until: 0, version: 2 } });
    dynamo
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'conflict', $metadata: {} }));

    const grant = await rate.take('sales', wecom, 1);

    expect(grant.granted).toBe(0);
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(2);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
    expect(grant.nextAt).toBe(t0 - 10_000 + 61_000);
  });

  it('blocks only forward in time, moving the version so that readers retry', async () => {
    dynamo.on(UpdateCommand).resolves({});

    await rate.block('sales', t0 + 600_000);

    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'WEBHOOK#sales', sk: 'RATE' },
      ConditionExpression: 'attribute_not_exists(blocked_until) OR blocked_until < :until',
      ExpressionAttributeValues: expect.objectContaining({ ':until': t0 + 600_000 }),
      UpdateExpression: expect.stringContaining('version = if_not_exists(version, :zero) + :one'),
    });
  });

  it('takes a longer existing block as it is', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'longer', $metadata: {} }));

    await expect(rate.block('sales', t0 + 1)).resolves.toBeUndefined();
  });
});
