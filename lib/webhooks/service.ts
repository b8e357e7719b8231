import type { SQSRecord } from 'aws-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../clock.js';
import type { DeliverConfig } from '../config.js';
import { DynamoWebhookAttempts } from '../store/webhook-attempts.js';
import { DynamoWebhookRate } from '../store/webhook-rate.js';
import { deliverBatch, type DeliveryContext, type DeliveryDeps } from './delivery.js';
import type { Endpoint } from './endpoints.js';
import { NodeHttpSender, type HttpSender } from './http.js';
import { SsmParameters } from './parameters.js';
import type { DeliveryLog, DeliveryTally } from './ports.js';
import { queueUrlFromArn, SqsDeliveryQueue } from './queue.js';
import { errorText } from './settle.js';

export interface DeliverClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly ssm: SSMClient;
}

export interface DeliverServiceOptions {
  readonly config: DeliverConfig;
  readonly clients: DeliverClients;
  readonly log: DeliveryLog;
  readonly clock?: Clock;
  /** The HTTP port; by default node:https with the address checks (lib/webhooks/http.ts). */
  readonly http?: HttpSender;
  /** The HTTP timeout (15 s). */
  readonly sendTimeoutMs?: number;
}

export interface DeliveryResult {
  /** Message ids to report as batchItemFailures. */
  readonly failures: readonly string[];
  readonly tallies: readonly (DeliveryTally & { readonly format: string })[];
}

export interface DeliverService {
  readonly endpoints: readonly Endpoint[];
  deliver(records: readonly SQSRecord[], ctx: DeliveryContext): Promise<DeliveryResult>;
  /** The wiring, for the CLI's `webhooks test` (lib/webhooks/test-send.ts). */
  readonly deps: DeliveryDeps;
}

/**
 * Wires the delivery to its adapters. Built once per process, so the SSM cache outlives an
 * invocation. Shared across processes, in the table: each endpoint's send window (`RATE`)
 * and each event's attempt count (`TRY#`).
 */
export function createDeliverService(options: DeliverServiceOptions): DeliverService {
  const { config, clients, log } = options;
  const clock = options.clock ?? systemClock;
  const sendTimeoutMs = options.sendTimeoutMs ?? 15_000;
  const store = { client: clients.dynamo, tableName: config.tableName, clock };
  const deps: DeliveryDeps = {
    clock,
    log,
    window: new DynamoWebhookRate(store),
    attempts: new DynamoWebhookAttempts(store),
    queue: new SqsDeliveryQueue({ client: clients.sqs }),
    parameters: new SsmParameters({ client: clients.ssm }),
    http:
      options.http ??
      new NodeHttpSender({ clock, allowLoopback: config.allowLoopback, timeoutMs: sendTimeoutMs }),
    allowLoopback: config.allowLoopback,
    sendTimeoutMs,
  };
  const byArn = new Map(config.webhooks.map((endpoint) => [endpoint.queueArn, endpoint]));

  return {
    endpoints: config.webhooks,
    deps,
    deliver: async (records, ctx) => {
      const groups = new Map<string, SQSRecord[]>();
      for (const record of records) {
        const group = groups.get(record.eventSourceARN) ?? [];
        group.push(record);
        groups.set(record.eventSourceARN, group);
      }
      const failures: string[] = [];
      const tallies: DeliveryResult['tallies'][number][] = [];
      await Promise.all(
        [...groups].map(async ([arn, group]) => {
          const endpoint = byArn.get(arn);
          if (endpoint === undefined) {
            log.error('records from a queue that is no webhook endpoint', { queueArn: arn });
            failures.push(...group.map((record) => record.messageId));
            return;
          }
          try {
            const report = await deliverBatch(
              deps,
              { endpoint, queueUrl: queueUrlFromArn(arn), records: group },
              ctx,
            );
            failures.push(...report.failures);
            tallies.push({ ...report.tally, format: endpoint.format });
          } catch (error: unknown) {
            // Nothing is lost: the batch comes back after the queue's visibility timeout.
            log.error('webhook batch failed', { endpoint: endpoint.name, error: errorText(error) });
            failures.push(...group.map((record) => record.messageId));
          }
        }),
      );
      return { failures: [...new Set(failures)], tallies };
    },
  };
}
