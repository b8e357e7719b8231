import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { recordDeliveries } from '../observability.js';
import type { DeliveryLog } from './ports.js';
import type { DeliverService } from './service.js';

/**
 * The deliver function's body, minus the wiring: one SQS batch delivered, metrics per
 * endpoint, and a partial batch response naming what stays in the queue.
 */
export function deliverHandler(
  service: Pick<DeliverService, 'deliver'>,
  { log }: { log: Pick<DeliveryLog, 'info'> },
) {
  return async (
    event: SQSEvent,
    context: Context,
    options?: { signal?: AbortSignal },
  ): Promise<SQSBatchResponse> => {
    const result = await service.deliver(event.Records, {
      remainingMs: () => context.getRemainingTimeInMillis(),
      ...(options?.signal !== undefined && { signal: options.signal }),
    });
    recordDeliveries(result.tallies);
    log.info('webhook batch done', {
      records: event.Records.length,
      left: result.failures.length,
      endpoints: result.tallies.map(({ latencies, ...counts }) => ({
        ...counts,
        sends: latencies.length,
      })),
    });
    return { batchItemFailures: result.failures.map((id) => ({ itemIdentifier: id })) };
  };
}
