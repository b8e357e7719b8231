import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadDeliverConfig } from '../lib/config.js';
import { logger, metrics } from '../lib/observability.js';
import { deliverHandler } from '../lib/webhooks/handler.js';
import { createDeliverService } from '../lib/webhooks/service.js';

// Cold start: a bad WEBHOOKS entry fails here, naming the variable, the entry and its field.
const config = loadDeliverConfig();

const service = createDeliverService({
  config,
  clients: {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sqs: new SQSClient({}),
    ssm: new SSMClient({}),
  },
  log: logger,
});

// A partial batch response of our own rather than Powertools batch processing: records of a
// robot endpoint are merged into digests, so they are not handled one by one.
export const handler = middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 500 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(deliverHandler(service, { log: logger }));
