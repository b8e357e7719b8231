import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveAll } from '../../../dev/topic.js';

const sqsMock = mockClient(SQSClient);
const QUEUE = 'http://sqs.local/000000000000/events';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Raw-delivery messages whose bodies are their numbers. */
const batch = (from: number, count: number): Message[] =>
  Array.from({ length: count }, (_, i) => ({
    MessageId: `m${from + i}`,
    ReceiptHandle: `r${from + i}`,
    Body: JSON.stringify({ n: from + i }),
  }));

describe('receiveAll', () => {
  afterEach(() => {
    sqsMock.reset();
  });

  it('drains every queued message even when deleting a batch outlasts the quiet time', async () => {
    // SQS hands out at most 10 a call: 11 queued take two receives.
    const queued = [batch(1, 10), batch(11, 1)];
    sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      const next = queued.shift();
      if (next !== undefined) return { Messages: next };
      await sleep(100); // a long poll that finds nothing
      return {};
    });
    sqsMock.on(DeleteMessageBatchCommand).callsFake(async () => {
      await sleep(600);
      return { Successful: [] };
    });

    const messages = await receiveAll(new SQSClient({ region: 'us-east-1' }), QUEUE, {
      idleMs: 500,
    });

    expect(messages.map((message) => (message.body as { n: number }).n)).toEqual(
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(2);
  });

  it('stops at `expected` without another look', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: batch(1, 3) });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [] });

    const messages = await receiveAll(new SQSClient({ region: 'us-east-1' }), QUEUE, {
      expected: 3,
    });

    expect(messages).toHaveLength(3);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
  });
});
