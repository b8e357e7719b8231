import { randomBytes } from 'node:crypto';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { loadDeliverConfig } from '../../../lib/config.js';
import type { HttpRequest, HttpResult, HttpSender } from '../../../lib/webhooks/http.js';
import { deliverHandler } from '../../../lib/webhooks/handler.js';
import { createDeliverService } from '../../../lib/webhooks/service.js';
import { eventBody, formEvent } from '../../fixtures/events.js';
import { captureEmf, findDocument, type EmfCapture } from '../../support/emf.js';
import { lambdaContext } from '../../support/lambda-context.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const ssm = mockClient(SSMClient);

const ARN = 'arn:aws:sqs:ap-northeast-1:123456789012:forms-Webhookcrm';
const ROBOT_ARN = 'arn:aws:sqs:ap-northeast-1:123456789012:forms-Webhooksales';
const DLQ = 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/forms-Webhookcrm-dlq';
// A test-only robot key; the point is that it never shows.
const ROBOT_KEY = 'robot-key-4f7c2a';
const ROBOT_URL = `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${ROBOT_KEY}`;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

const config = loadDeliverConfig({
  TABLE_NAME: 'forms',
  WEBHOOKS: JSON.stringify([
    {
      name: 'crm',
      format: 'standard',
      url: 'https://crm.example.com/hook',
      secretParam: '/crm/secret',
      ratePerMinute: 600,
      queueArn: ARN,
      dlqUrl: DLQ,
    },
    {
      name: 'sales',
      format: 'wecom',
      urlParam: '/sales/url',
      ratePerMinute: 20,
      queueArn: ROBOT_ARN,
      dlqUrl: DLQ,
    },
  ]),
});

/** An HTTP port that answers from a script and remembers what was sent. */
class ScriptedHttp implements HttpSender {
  readonly sent: HttpRequest[] = [];
  constructor(private readonly answer: (request: HttpRequest) => HttpResult) {}
  post(request: HttpRequest): Promise<HttpResult> {
    this.sent.push(request);
    return Promise.resolve(this.answer(request));
  }
}

const status = (code: number, body = '', headers: { retryAfter?: string } = {}): HttpResult => ({
  kind: 'answer',
  status: code,
  body: Buffer.from(body),
  latencyMs: 40,
  ...headers,
});

function record(arn: string, uId: number): SQSRecord {
  const event = formEvent({ u_id: uId });
  return {
    messageId: `m-${uId}`,
    receiptHandle: `rh-${uId}`,
    body: eventBody(event),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'sns',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {
      form_id: {
        dataType: 'Number',
        stringValue: '842',
        stringListValues: [],
        binaryListValues: [],
      },
    },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: 'ap-northeast-1',
  };
}

describe('one batch through the delivery, AWS mocked', () => {
  const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  let clock: VirtualClock;
  let emf: EmfCapture;

  beforeEach(() => {
    dynamo.reset();
    sqs.reset();
    ssm.reset();
    vi.clearAllMocks();
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    emf = captureEmf();
    clock = new VirtualClock({ startMs: 1_788_229_410_000 });
    ssm.on(GetParameterCommand, { Name: '/crm/secret' }).resolves({ Parameter: { Value: SECRET } });
    ssm
      .on(GetParameterCommand, { Name: '/sales/url' })
      .resolves({ Parameter: { Value: ROBOT_URL } });
    dynamo.on(BatchGetCommand).resolves({ Responses: { forms: [] } });
    dynamo.on(GetCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
  });

  afterEach(() => {
    emf.restore();
    vi.unstubAllEnvs();
  });

  const run = async (http: HttpSender, records: SQSRecord[], remainingMs = 60_000) => {
    const service = createDeliverService({
      config,
      clients: {
        dynamo: dynamo as unknown as DynamoDBDocumentClient,
        sqs: sqs as unknown as SQSClient,
        ssm: ssm as unknown as SSMClient,
      },
      log,
      clock,
      http,
    });
    return deliverHandler(service, { log })(
      { Records: records },
      lambdaContext({ awsRequestId: 'req-1', getRemainingTimeInMillis: () => remainingMs }),
    );
  };

  it('delivers, leaving nothing in the queue and logging the attempt', async () => {
    const http = new ScriptedHttp(() => status(200));

    const response = await run(http, [record(ARN, 1)]);

    expect(response.batchItemFailures).toEqual([]);
    expect(http.sent[0]?.headers['webhook-id']).toBe('weiban:corp-1:842:1');
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(dynamo).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        forms: [
          {
            PutRequest: {
              Item: expect.objectContaining({
                pk: 'WEBHOOK#crm#LOG',
                sk: expect.stringMatching(/^001788229410\d{3}#weiban:corp-1:842:1$/),
                attempt: 1,
                status: '200',
                outcome: 'delivered',
                latency_ms: 40,
              }),
            },
          },
        ],
      },
    });
    const doc = findDocument(emf.documents(), { service: 'weiban-forms-test', endpoint: 'crm' });
    expect(doc).toMatchObject({
      webhook_delivered: 1,
      webhook_retried: 0,
      webhook_failed: 0,
      webhook_latency: 40,
    });
  });

  it('retries a 500 after 5 s: one attempt counted, the message kept in the queue', async () => {
    const response = await run(new ScriptedHttp(() => status(500)), [record(ARN, 1)]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'WEBHOOK#crm', sk: 'TRY#weiban:corp-1:842:1' },
      UpdateExpression: expect.stringContaining('ADD attempts :one'),
    });
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      QueueUrl: 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/forms-Webhookcrm',
      Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 5 }],
    });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 0);
  });

  it('dead-letters a 410 at once with its reason, attempts, status and endpoint', async () => {
    const response = await run(new ScriptedHttp(() => status(410)), [record(ARN, 1)]);

    expect(response.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageBody: eventBody(formEvent({ u_id: 1 })),
      MessageAttributes: {
        form_id: { DataType: 'Number', StringValue: '842' },
        reason: { DataType: 'String', StringValue: 'the receiver is gone (410)' },
        attempts: { DataType: 'Number', StringValue: '1' },
        last_status: { DataType: 'String', StringValue: '410' },
        endpoint: { DataType: 'String', StringValue: 'crm' },
      },
    });
  });

  it('dead-letters after the eighth failed attempt', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { attempts: 8 } });

    const response = await run(new ScriptedHttp(() => status(503)), [record(ARN, 1)]);

    expect(response.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: expect.objectContaining({
        reason: {
          DataType: 'String',
          StringValue: 'gave up after 8 attempts; the last: the receiver failed (503)',
        },
        attempts: { DataType: 'Number', StringValue: '8' },
      }),
    });
  });

  it('defers without counting an attempt when the send window is full', async () => {
    const now = clock.now();
    dynamo.on(GetCommand).resolves({
      Item: {
        sent: Array.from({ length: 600 }, (_, i) => now - 30_000 + i),
        blocked_until: 0,
        version: 3,
      },
    });
    const http = new ScriptedHttp(() => status(200));

    const response = await run(http, [record(ARN, 1)]);

    expect(http.sent).toEqual([]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 31 }],
    });
  });

  it('honours Retry-After and holds the whole endpoint back until then', async () => {
    const response = await run(new ScriptedHttp(() => status(429, '', { retryAfter: '120' })), [
      record(ARN, 1),
    ]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 120 }],
    });
    const block = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Key?.sk === 'RATE');
    const until = Number(block?.ExpressionAttributeValues?.[':until']);
    expect(until - clock.now()).toBeGreaterThan(119_000);
    expect(until - clock.now()).toBeLessThanOrEqual(120_000);
  });

  it('starts no send with less Lambda time left than a send may take, and counts no attempt', async () => {
    const http = new ScriptedHttp(() => status(200));

    const response = await run(http, [record(ARN, 1), record(ROBOT_ARN, 2)], 19_000);

    expect(http.sent).toEqual([]);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'm-1' },
      { itemIdentifier: 'm-2' },
    ]);
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 0 }],
    });
  });

  it('merges a robot batch larger than the free sends into a digest, and counts it', async () => {
    const now = clock.now();
    dynamo.on(GetCommand).resolves({
      Item: {
        sent: Array.from({ length: 19 }, (_, i) => now - 30_000 + i),
        blocked_until: 0,
        version: 1,
      },
    });
    const http = new ScriptedHttp(() => status(200, '{"errcode":0,"errmsg":"ok"}'));

    const response = await run(
      http,
      [1, 2, 3].map((u) => record(ROBOT_ARN, u)),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(http.sent).toHaveLength(1);
    const sent = JSON.parse(http.sent[0]?.body ?? '{}') as { markdown: { content: string } };
    expect(sent.markdown.content.split('\n')).toEqual([
      '**3 条新线索**',
      expect.stringContaining('> 1. 张三（上海市）提交了《2026 秋季课程报名》'),
      expect.stringContaining('> 2. '),
      expect.stringContaining('> 3. '),
    ]);
    const doc = findDocument(emf.documents(), { service: 'weiban-forms-test', endpoint: 'sales' });
    expect(doc).toMatchObject({ webhook_delivered: 3, webhook_digests: 1, webhook_failed: 0 });
  });

  it('dead-letters when the secret parameter does not exist, sending nothing', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/crm/secret' })
      .rejects(new ParameterNotFound({ message: 'nope', $metadata: {} }));
    const http = new ScriptedHttp(() => status(200));

    await run(http, [record(ARN, 1)]);

    expect(http.sent).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: expect.objectContaining({
        reason: { DataType: 'String', StringValue: 'SSM parameter /crm/secret does not exist' },
        last_status: { DataType: 'String', StringValue: 'config' },
      }),
    });
  });

  it('dead-letters a message that is not a form event', async () => {
    const bad = { ...record(ARN, 1), body: '{"hello":"world"}' };

    const response = await run(new ScriptedHttp(() => status(200)), [bad]);

    expect(response.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: expect.objectContaining({
        reason: { DataType: 'String', StringValue: 'the message is not a form event' },
      }),
    });
  });

  it('never shows the robot key: not in a log line, the attempt log or a dead letter', async () => {
    const echo = `{"errcode":93000,"errmsg":"invalid webhook url ${ROBOT_URL} key=${ROBOT_KEY}"}`;
    const http = new ScriptedHttp(() => status(200, echo));

    await run(http, [record(ROBOT_ARN, 1)]);

    expect(http.sent[0]?.url).toBe(ROBOT_URL);
    const written = JSON.stringify([
      log.debug.mock.calls,
      log.info.mock.calls,
      log.warn.mock.calls,
      log.error.mock.calls,
      dynamo.calls().map((call) => call.args[0].input),
      sqs.calls().map((call) => call.args[0].input),
      emf.documents(),
    ]);
    expect(written).toContain('93000');
    expect(written).toContain('key=***');
    expect(written).not.toContain(ROBOT_KEY);
  });
});
