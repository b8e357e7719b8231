import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { loadConfig } from '../lib/config.js';
import { pollHandler, scheduleEventId } from '../lib/handler.js';
import { logger, metrics } from '../lib/observability.js';
import { createPollService } from '../lib/service.js';

// Cold start: a bad setting fails here, naming the variable, before anything is written.
const config = loadConfig();

const service = createPollService({
  config,
  clients: {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sns: new SNSClient({}),
    ssm: new SSMClient({}),
  },
  log: logger,
});

export const handler = middy({ timeoutEarlyInMillis: 500 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use({
    before: ({ event }) => {
      logger.appendKeys({ eventId: scheduleEventId(event) });
    },
  })
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(pollHandler(service, { log: logger, sink: metrics }));
