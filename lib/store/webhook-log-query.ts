import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttemptRecord } from './webhook-attempts.js';
import { webhookLogPk } from './keys.js';

/**
 * The attempt log read for the operator (`webhooks log`): an endpoint's latest attempts,
 * newest first. The delivery path only writes it (lib/store/webhook-attempts.ts).
 */
export async function recentAttempts(
  { client, tableName }: { client: DynamoDBDocumentClient; tableName: string },
  endpoint: string,
  limit = 20,
): Promise<AttemptRecord[]> {
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': webhookLogPk(endpoint) },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((item: Record<string, unknown>) => ({
    eventId: typeof item.event_id === 'string' ? item.event_id : '',
    atMs: Number(item.at),
    attempt: Number(item.attempt),
    status: typeof item.status === 'string' ? item.status : '',
    ...(typeof item.code === 'number' && { code: item.code }),
    latencyMs: Number(item.latency_ms),
    answer: typeof item.answer === 'string' ? item.answer : '',
    outcome: item.outcome === 'delivered' || item.outcome === 'retry' ? item.outcome : 'dead',
    ...(typeof item.reason === 'string' && { reason: item.reason }),
    events: Number(item.events ?? 1),
  }));
}
