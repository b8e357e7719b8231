import { PublishBatchCommand, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import type { OutgoingMessage } from '../../../lib/ports.js';
import { SnsPublisher, toBatches } from '../../../lib/publish/sns.js';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const publisher = new SnsPublisher({
  client: sns as unknown as SNSClient,
  topicArn: TOPIC,
  clock: new VirtualClock({ scale: 1_000 }),
});

const message = (n: number, bodyBytes = 20): OutgoingMessage => ({
  id: `weiban:c:842:${n}`,
  body: JSON.stringify({ n, pad: 'x'.repeat(bodyBytes) }),
  attributes: { form_id: { DataType: 'Number', StringValue: '842' } },
});

describe('SnsPublisher', () => {
  beforeEach(() => {
    sns.reset();
  });

  it('publishes 25 events in 3 PublishBatch calls of at most 10, with their attributes', async () => {
    sns
      .on(PublishBatchCommand)
      .callsFake((input: { PublishBatchRequestEntries: { Id: string }[] }) => ({
        Successful: input.PublishBatchRequestEntries.map((entry) => ({
          Id: entry.Id,
          MessageId: `sns-${entry.Id}`,
        })),
        Failed: [],
      }));
    const messages = Array.from({ length: 25 }, (_, n) => message(n));

    const result = await publisher.publish(messages);

    expect(result.failed).toEqual([]);
    expect([...result.published].sort()).toEqual(messages.map((m) => m.id).sort());
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: TOPIC,
      PublishBatchRequestEntries: expect.arrayContaining([
        {
          Id: 'm0',
          Message: messages[0]?.body,
          MessageAttributes: { form_id: { DataType: 'Number', StringValue: '842' } },
        },
      ]),
    });
  });

  it('retries only the entries SNS failed, and reports those that keep failing', async () => {
    sns
      .on(PublishBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: 'm0', MessageId: 'a' }],
        Failed: [
          { Id: 'm1', Code: 'InternalError', SenderFault: false, Message: 'try again' },
          { Id: 'm2', Code: 'InternalError', SenderFault: false, Message: 'try again' },
        ],
      })
      .resolvesOnce({
        Successful: [{ Id: 'm0', MessageId: 'b' }],
        Failed: [{ Id: 'm1', Code: 'InternalError', SenderFault: false, Message: 'still down' }],
      })
      .resolves({
        Successful: [],
        Failed: [{ Id: 'm0', Code: 'InternalError', SenderFault: false, Message: 'still down' }],
      });

    const result = await publisher.publish([message(0), message(1), message(2)]);

    expect([...result.published].sort()).toEqual(['weiban:c:842:0', 'weiban:c:842:1']);
    expect(result.failed).toEqual([{ id: 'weiban:c:842:2', reason: 'InternalError: still down' }]);
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    expect(sns).toHaveReceivedNthCommandWith(PublishBatchCommand, 2, {
      PublishBatchRequestEntries: [
        expect.objectContaining({ Id: 'm0', Message: message(1).body }),
        expect.objectContaining({ Id: 'm1', Message: message(2).body }),
      ],
    });
  });

  it("does not retry an entry refused as the sender's fault", async () => {
    sns.on(PublishBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'm0', Code: 'InvalidParameter', SenderFault: true, Message: 'bad attribute' }],
    });

    const result = await publisher.publish([message(0)]);

    expect(result.failed).toEqual([
      { id: 'weiban:c:842:0', reason: 'InvalidParameter: bad attribute' },
    ]);
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
  });

  it('reports every entry as failed when SNS keeps throttling the whole call', async () => {
    sns
      .on(PublishBatchCommand)
      .rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));

    const result = await publisher.publish([message(0), message(1)]);

    expect(result.published).toEqual([]);
    expect(result.failed.map((failure) => failure.reason)).toEqual([
      'ThrottledException: Rate exceeded',
      'ThrottledException: Rate exceeded',
    ]);
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
  });
});

describe('toBatches', () => {
  it('keeps each batch within 10 entries and 256 KiB in all', () => {
    const big = Array.from({ length: 6 }, (_, n) => message(n, 100_000));

    const batches = toBatches(big);

    expect(batches.map((batch) => batch.length)).toEqual([2, 2, 2]);
  });
});
