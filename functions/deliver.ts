import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

// Reports every record as not processed, so each message stays in its queue.
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  Promise.resolve({
    batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })),
  });
