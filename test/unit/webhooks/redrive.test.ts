import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redrive } from '../../../lib/webhooks/redrive.js';
import { eventBody, formEvent } from '../../fixtures/events.js';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/forms-webhook-crm';
const DLQ = 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/forms-deadletter-crm';

const first = formEvent({ u_id: 1 });
const second = formEvent({ u_id: 2 });

/** A dead letter as the deliver function sends it: the body, the event's and its own attributes. */
const letter = (body: string, handle: string, reason = 'the receiver is gone (410)') => ({
  MessageId: handle,
  ReceiptHandle: handle,
  Body: body,
  MessageAttributes: {
    form_id: { DataType: 'Number', StringValue: '842' },
    reason: { DataType: 'String', StringValue: reason },
    attempts: { DataType: 'Number', StringValue: '1' },
    last_status: { DataType: 'String', StringValue: '410' },
    endpoint: { DataType: 'String', StringValue: 'crm' },
  },
});

describe('redrive', () => {
  afterEach(() => {
    sqs.reset();
  });

  it('moves each dead letter back with its own attributes, resets its count and reports it', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [letter(eventBody(first), 'h1'), letter(eventBody(second), 'h2', 'gave up')],
      })
      .resolves({ Messages: [] });
    const reset = vi.fn(() => Promise.resolve());
    const seen = vi.fn();

    const result = await redrive({
      sqs: sqs as unknown as SQSClient,
      dlqUrl: DLQ,
      queueUrl: QUEUE,
      resetAttempts: reset,
      onMoved: seen,
    });

    expect(result).toEqual({ moved: 2, eventIds: [first.id, second.id], returned: 0 });
    expect(reset.mock.calls).toEqual([[first.id], [second.id]]);
    expect(seen.mock.calls).toEqual([
      [{ eventId: first.id, reason: 'the receiver is gone (410)' }],
      [{ eventId: second.id, reason: 'gave up' }],
    ]);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE,
        MessageBody: eventBody(first),
        MessageAttributes: { form_id: { DataType: 'Number', StringValue: '842' } },
      },
      {
        QueueUrl: QUEUE,
        MessageBody: eventBody(second),
        MessageAttributes: { form_id: { DataType: 'Number', StringValue: '842' } },
      },
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: DLQ, ReceiptHandle: 'h1' },
      { QueueUrl: DLQ, ReceiptHandle: 'h2' },
    ]);
  });

  it('leaves an event refused again during the redrive in the DLQ instead of moving it round', async () => {
    // The first event is moved, refused again by the receiver and dead-lettered anew (a new
    // message), all before the redrive's next receive.
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [letter(eventBody(first), 'h1')] })
      .resolvesOnce({
        Messages: [letter(eventBody(first), 'h1-again'), letter(eventBody(second), 'h2')],
      })
      .resolvesOnce({ Messages: [] })
      .rejects(new Error('received more than the test scripted'));

    const result = await redrive({
      sqs: sqs as unknown as SQSClient,
      dlqUrl: DLQ,
      queueUrl: QUEUE,
    });

    expect(result).toEqual({ moved: 2, eventIds: [first.id, second.id], returned: 1 });
    expect(
      sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle),
    ).toEqual(['h1', 'h2']);
  });

  it('stops before the next message once the signal aborts', async () => {
    const stop = new AbortController();
    sqs
      .on(ReceiveMessageCommand)
      .resolves({ Messages: [letter(eventBody(first), 'h1'), letter(eventBody(second), 'h2')] });

    const result = await redrive({
      sqs: sqs as unknown as SQSClient,
      dlqUrl: DLQ,
      queueUrl: QUEUE,
      signal: stop.signal,
      onMoved: () => {
        stop.abort();
      },
    });

    expect(result.moved).toBe(1);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
  });
});
