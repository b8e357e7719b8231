// Serverless plugin (osls and serverless v4): webhook delivery for the endpoints declared in the
// `webhooks` param. Serverless variables cannot loop, so this adds, per endpoint, an SNS
// subscription (raw delivery, its filter policy) into a queue of its own with its own
// dead-letter queue, the queue policy that lets the topic use both, the event source mapping
// that feeds the queue to the `deliver` function, two alarms and the queue URLs as outputs. It
// also gives the function its WEBHOOKS setting and its role the access to exactly these queues
// and SSM parameters, and outputs `Webhooks`, the list the CLI finds the endpoints by.
//
// ESM on purpose, like subscriptions-plugin.js beside it.
import { Buffer } from 'node:buffer';
import { URL } from 'node:url';
import { parseFilterPolicy } from './subscriptions-plugin.js';

export const FORMATS = Object.freeze(['standard', 'wecom', 'feishu', 'dingtalk']);

// Each robot's documented limit, in messages a minute; ratePerMinute defaults to it and may not
// exceed it (Feishu also allows at most 5 a second, which the delivery function keeps).
export const ROBOT_RATE_PER_MINUTE = Object.freeze({ wecom: 20, dingtalk: 20, feishu: 100 });
export const STANDARD_RATE_PER_MINUTE = 600;

const KEYS = [
  'name',
  'url',
  'urlParam',
  'format',
  'secretParam',
  'filterPolicy',
  'filterPolicyScope',
  'ratePerMinute',
];
const NAME = /^[A-Za-z0-9]{1,40}$/;
// SSM parameter names: letters, digits and _ . - in segments separated by "/".
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+)+$/;
const SSM_NAME_MAX = 1011;

// SQS: the longest retention, so an operator has two weeks to notice and redrive.
const RETENTION_SECONDS = 14 * 24 * 60 * 60;
const QUEUE_NAME_MAX = 80;
// A safety net only: the function dead-letters a message itself, with the reason, long before.
export const MAX_RECEIVE_COUNT = 100;
export const MAX_CONCURRENCY = 2;
// "An endpoint that has failed for an hour".
export const FAILING_SECONDS = 3600;
// Lambda: the function's environment variables may total 4 KB.
const ENVIRONMENT_MAX_BYTES = 4096;

/** How the deliver function reads each endpoint's queue: one batch per format family. */
export function eventSourceSettings(format) {
  return format === 'standard'
    ? { BatchSize: 10 }
    : // A burst arrives as one batch, so the function can merge it into digest messages.
      { BatchSize: 50, MaximumBatchingWindowInSeconds: 5 };
}

export class WebhookConfigError extends Error {
  name = 'WebhookConfigError';
}

/**
 * Parses and validates the `webhooks` param: a list (or, from `--param`, a JSON string of a
 * list) of `{ name, url | urlParam, format, secretParam?, filterPolicy?, filterPolicyScope?,
 * ratePerMinute? }`. With `queuePrefix`, also checks that each endpoint's queue names fit SQS's
 * limit. Throws one WebhookConfigError naming the bad entry (`#n (name)`) and the field; the
 * message never repeats a URL, which may carry a key.
 */
export function parseWebhooks(raw, { queuePrefix } = {}) {
  if (raw === undefined || raw === null || raw === '') return [];
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch (error) {
      throw new WebhookConfigError(
        `Invalid "webhooks" param: not a JSON list (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  }
  if (!Array.isArray(list)) {
    throw new WebhookConfigError(
      'Invalid "webhooks" param: must be a list of {name, url or urlParam, format, secretParam?, filterPolicy?, filterPolicyScope?, ratePerMinute?}',
    );
  }
  const parsed = list.map((entry, index) => parseEntry(entry, index, queuePrefix));
  const seen = new Map();
  for (const [index, webhook] of parsed.entries()) {
    const earlier = seen.get(webhook.name);
    if (earlier !== undefined) {
      throw new WebhookConfigError(
        `${describe(list[index], index)}: name is already used by entry #${earlier + 1}; names must be unique`,
      );
    }
    seen.set(webhook.name, index);
  }
  return parsed;
}

/** How many endpoints the `webhooks` param declares (validating it as packaging does). */
export function countWebhooks(raw) {
  return parseWebhooks(raw).length;
}

function describe(entry, index) {
  const name =
    entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? entry.name : undefined;
  // Only a valid name is repeated: anything else might be a misplaced URL or key.
  const label = typeof name === 'string' && NAME.test(name) ? name : 'no valid name';
  return `Invalid "webhooks" param, entry #${index + 1} (${label})`;
}

function parseEntry(entry, index, queuePrefix) {
  const fail = (reason) => {
    throw new WebhookConfigError(`${describe(entry, index)}: ${reason}`);
  };
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    fail(
      'must be an object such as {"name": "Crm", "format": "standard", "url": "https://…", "secretParam": "/…"}',
    );
  }
  const unknown = Object.keys(entry).filter((key) => !KEYS.includes(key));
  if (unknown.length > 0) fail(`unknown key(s) ${unknown.join(', ')}; allowed: ${KEYS.join(', ')}`);

  const { name, format, url, urlParam, secretParam } = entry;
  if (typeof name !== 'string' || !NAME.test(name)) {
    fail(
      'name is required: 1–40 letters or digits (it becomes part of resource names and logical ids)',
    );
  }
  if (!FORMATS.includes(format)) fail(`format must be one of ${FORMATS.join(', ')}`);
  const robot = format !== 'standard';

  if (url !== undefined && urlParam !== undefined) fail('give url or urlParam, not both');
  if (url === undefined && urlParam === undefined) {
    fail('url or urlParam is required');
  }
  if (url !== undefined) {
    if (robot) {
      fail(
        `url is not allowed for ${format}: a robot's URL carries its key, so it would land in the template; ` +
          'store it as an SSM SecureString and name that in urlParam',
      );
    }
    checkUrl(url, fail);
  }
  if (urlParam !== undefined) checkParamName('urlParam', urlParam, fail);

  if (secretParam !== undefined) {
    if (format === 'wecom') fail('secretParam is not allowed for wecom: WeCom robots do not sign');
    checkParamName('secretParam', secretParam, fail);
  } else if (format === 'standard') {
    fail('secretParam is required for standard: the SSM SecureString holding its whsec_ secret');
  }

  const { filterPolicy, filterPolicyScope } = parseFilterPolicy(
    entry.filterPolicy,
    entry.filterPolicyScope,
    fail,
  );

  const limit = ROBOT_RATE_PER_MINUTE[format];
  let ratePerMinute = limit ?? STANDARD_RATE_PER_MINUTE;
  if (entry.ratePerMinute !== undefined) {
    const value = entry.ratePerMinute;
    ratePerMinute =
      typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : typeof value === 'number'
          ? value
          : Number.NaN;
    if (!Number.isSafeInteger(ratePerMinute) || ratePerMinute < 1) {
      fail('ratePerMinute must be a whole number of at least 1');
    }
    if (limit !== undefined && ratePerMinute > limit) {
      fail(`ratePerMinute may not exceed ${limit}, the documented limit of a ${format} robot`);
    }
  }

  if (queuePrefix !== undefined) {
    const longest = queueNames(queuePrefix, name).dlq;
    if (longest.length > QUEUE_NAME_MAX) {
      fail(
        `name is too long for this stage: its dead-letter queue would be named ${longest} ` +
          `(${longest.length} characters; SQS allows ${QUEUE_NAME_MAX})`,
      );
    }
  }

  return {
    name,
    format,
    ...(url !== undefined && { url }),
    ...(urlParam !== undefined && { urlParam }),
    ...(secretParam !== undefined && { secretParam }),
    ...(filterPolicy !== undefined && { filterPolicy }),
    ...(filterPolicyScope !== undefined && { filterPolicyScope }),
    ratePerMinute,
  };
}

// The URL is never repeated in a reason: it is the operator's, and may be secret.
function checkUrl(url, fail) {
  let parsed;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'https:' || parsed.hostname === '') {
    fail('url must be an https:// URL');
  }
  if (parsed.username !== '' || parsed.password !== '' || /^https:\/\/[^/?#]*@/i.test(url)) {
    fail(
      'url may not carry user:password@: it would land in the template; store the URL as an SSM SecureString and name that in urlParam',
    );
  }
  if (parsed.search !== '' || url.includes('?')) {
    fail(
      'url may not carry a query string (it usually holds a key, and would land in the template); store the URL as an SSM SecureString and name that in urlParam',
    );
  }
}

function checkParamName(field, value, fail) {
  if (typeof value !== 'string' || !SSM_NAME.test(value) || value.length > SSM_NAME_MAX) {
    fail(
      `${field} must be an SSM parameter name such as /weiban-forms/prod/crm-url: a leading /, then letters, digits and _ . - in /-separated parts`,
    );
  }
}

/** Logical ids of what one endpoint adds, so tests, outputs and the CLI agree on them. */
export function webhookLogicalIds(name) {
  const base = `Webhook${name}`;
  return {
    queue: `${base}Queue`,
    dlq: `${base}Dlq`,
    queuePolicy: `${base}QueuePolicy`,
    subscription: `${base}Subscription`,
    eventSource: `${base}EventSource`,
    dlqAlarm: `${base}DlqAlarm`,
    failingAlarm: `${base}FailingAlarm`,
    stalledAlarm: `${base}StalledAlarm`,
    queueUrlOutput: `${base}QueueUrl`,
    dlqUrlOutput: `${base}DlqUrl`,
  };
}

/**
 * The queue names of one endpoint. The word after the stage tells the two kinds apart, and no
 * endpoint name can produce it, so the dashboard finds every queue or every dead-letter queue
 * of a stage by prefix.
 */
export function queueNames(prefix, name) {
  return { queue: `${prefix}-webhook-${name}`, dlq: `${prefix}-deadletter-${name}` };
}

// Fn::Sub reads "${" as a reference; "${!" is its escape for a literal "${".
const literal = (value) => JSON.stringify(value).replaceAll('${', '${!');

/** The WEBHOOKS setting of the deliver function: Fn::Sub of a JSON list. */
export function webhooksEnvironment(webhooks) {
  if (webhooks.length === 0) return '[]';
  const entries = webhooks.map((webhook) => {
    const ids = webhookLogicalIds(webhook.name);
    const fields = [
      `"name":${literal(webhook.name)}`,
      `"format":${literal(webhook.format)}`,
      ...(webhook.url === undefined ? [] : [`"url":${literal(webhook.url)}`]),
      ...(webhook.urlParam === undefined ? [] : [`"urlParam":${literal(webhook.urlParam)}`]),
      ...(webhook.secretParam === undefined
        ? []
        : [`"secretParam":${literal(webhook.secretParam)}`]),
      `"ratePerMinute":${webhook.ratePerMinute}`,
      `"queueArn":"\${${ids.queue}.Arn}"`,
      `"dlqUrl":"\${${ids.dlq}}"`,
    ];
    return `{${fields.join(',')}}`;
  });
  return { 'Fn::Sub': `[${entries.join(',')}]` };
}

/** The `Webhooks` output: what the CLI needs to find each endpoint, and no URL or param. */
export function webhooksOutput(webhooks) {
  if (webhooks.length === 0) return '[]';
  const entries = webhooks.map((webhook) => {
    const ids = webhookLogicalIds(webhook.name);
    return (
      `{"name":${literal(webhook.name)},"format":${literal(webhook.format)},` +
      `"queueUrl":"\${${ids.queue}}","dlqUrl":"\${${ids.dlq}}",` +
      `"ratePerMinute":${webhook.ratePerMinute}}`
    );
  });
  return { 'Fn::Sub': `[${entries.join(',')}]` };
}

const ssmParameterArn = (name) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
});

/**
 * What the deliver function's role needs for these endpoints, beyond its log group and the
 * table: its queues, its dead-letter queues and the SSM parameters named in the param. Empty
 * when there are no endpoints (IAM refuses a statement without resources).
 */
export function deliverStatements(webhooks) {
  if (webhooks.length === 0) return [];
  const ids = webhooks.map((webhook) => webhookLogicalIds(webhook.name));
  const params = [
    ...new Set(webhooks.flatMap((webhook) => [webhook.urlParam, webhook.secretParam])),
  ].filter((name) => name !== undefined);
  return [
    {
      Sid: 'ConsumeWebhookQueues',
      Effect: 'Allow',
      // ReceiveMessage, DeleteMessage and GetQueueAttributes for the event source mapping;
      // ChangeMessageVisibility to schedule a retry.
      Action: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ChangeMessageVisibility',
      ],
      Resource: ids.map((each) => ({ 'Fn::GetAtt': [each.queue, 'Arn'] })),
    },
    {
      Sid: 'DeadLetterWebhooks',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: ids.map((each) => ({ 'Fn::GetAtt': [each.dlq, 'Arn'] })),
    },
    // SecureStrings under the AWS managed key (aws/ssm) need no kms:Decrypt grant: that key's
    // policy lets any principal of the account that may read the parameter decrypt it.
    ...(params.length === 0
      ? []
      : [
          {
            Sid: 'ReadWebhookParams',
            Effect: 'Allow',
            Action: 'ssm:GetParameter',
            Resource: params.map(ssmParameterArn),
          },
        ]),
  ];
}

const alarmActions = (alarmTopic) => ({
  AlarmActions: [{ Ref: alarmTopic }],
  OKActions: [{ Ref: alarmTopic }],
});
const queueDimension = (logicalId) => [
  { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId, 'QueueName'] } },
];

/**
 * The CloudFormation resources and outputs for validated endpoints. `topic`, `alarmTopic` and
 * `deliverFunction` are logical ids; `queuePrefix` starts every queue name; `timeoutSeconds` is
 * the deliver function's timeout.
 */
export function webhookResources(
  webhooks,
  { topic, alarmTopic, deliverFunction, queuePrefix, timeoutSeconds },
) {
  const Resources = {};
  const Outputs = {};
  for (const webhook of webhooks) {
    const ids = webhookLogicalIds(webhook.name);
    const names = queueNames(queuePrefix, webhook.name);
    const reading = eventSourceSettings(webhook.format);
    const label = `the ${webhook.format} webhook ${webhook.name}`;

    Resources[ids.dlq] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.dlq,
        MessageRetentionPeriod: RETENTION_SECONDS,
        SqsManagedSseEnabled: true,
      },
    };
    Resources[ids.queue] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.queue,
        MessageRetentionPeriod: RETENTION_SECONDS,
        // SSE-SQS: SNS can deliver to it without a KMS grant.
        SqsManagedSseEnabled: true,
        // Lambda: at least six times the function's timeout, plus the batching window.
        VisibilityTimeout: 6 * timeoutSeconds + (reading.MaximumBatchingWindowInSeconds ?? 0),
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
          maxReceiveCount: MAX_RECEIVE_COUNT,
        },
      },
    };
    Resources[ids.queuePolicy] = {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: ids.queue }, { Ref: ids.dlq }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TopicDelivers',
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: [{ 'Fn::GetAtt': [ids.queue, 'Arn'] }, { 'Fn::GetAtt': [ids.dlq, 'Arn'] }],
              Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topic } } },
            },
          ],
        },
      },
    };
    Resources[ids.subscription] = {
      Type: 'AWS::SNS::Subscription',
      DependsOn: [ids.queuePolicy],
      Properties: {
        TopicArn: { Ref: topic },
        Protocol: 'sqs',
        Endpoint: { 'Fn::GetAtt': [ids.queue, 'Arn'] },
        // The SQS body is the event JSON exactly as published; its message attributes arrive
        // as SQS message attributes.
        RawMessageDelivery: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
        ...(webhook.filterPolicy !== undefined && { FilterPolicy: webhook.filterPolicy }),
        ...(webhook.filterPolicyScope !== undefined && {
          FilterPolicyScope: webhook.filterPolicyScope,
        }),
      },
    };
    Resources[ids.eventSource] = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': [ids.queue, 'Arn'] },
        FunctionName: { 'Fn::GetAtt': [deliverFunction, 'Arn'] },
        ...reading,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        // Two at a time per endpoint (the least SQS allows): one slow endpoint cannot take the
        // account's concurrency from the others.
        ScalingConfig: { MaximumConcurrency: MAX_CONCURRENCY },
      },
    };

    Resources[ids.dlqAlarm] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `Events for ${label} could not be delivered and wait in its dead-letter queue; each carries its reason. See 'weiban-forms webhooks log' and 'webhooks redrive'.`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: queueDimension(ids.dlq),
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        ...alarmActions(alarmTopic),
      },
    };
    Resources[ids.failingAlarm] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `An event for ${label} has waited an hour in its queue: delivery is an hour behind.`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: queueDimension(ids.queue),
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: FAILING_SECONDS,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        ...alarmActions(alarmTopic),
      },
    };
    // SQS leaves a message received three times or more out of ApproximateAgeOfOldestMessage,
    // and a retried event is received once per attempt, so an endpoint that refuses everything
    // does not show there. This alarm watches for that: for an hour, events have waited on
    // retries and none left the queue (delivered or dead-lettered).
    Resources[ids.stalledAlarm] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `For an hour, events for ${label} have waited on retries and none was delivered: the endpoint is failing.`,
        Metrics: [
          {
            Id: 'waiting',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateNumberOfMessagesNotVisible',
                Dimensions: queueDimension(ids.queue),
              },
              Period: 300,
              Stat: 'Minimum',
            },
            ReturnData: false,
          },
          {
            Id: 'removed',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'NumberOfMessagesDeleted',
                Dimensions: queueDimension(ids.queue),
              },
              Period: 300,
              Stat: 'Sum',
            },
            ReturnData: false,
          },
          {
            Id: 'stalled',
            Expression: 'IF(waiting >= 1 AND FILL(removed, 0) == 0, 1, 0)',
            Label: 'waiting on retries with nothing delivered',
            ReturnData: true,
          },
        ],
        EvaluationPeriods: FAILING_SECONDS / 300,
        DatapointsToAlarm: FAILING_SECONDS / 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        ...alarmActions(alarmTopic),
      },
    };

    Outputs[ids.queueUrlOutput] = {
      Description: `Queue of ${label}`,
      Value: { Ref: ids.queue },
    };
    Outputs[ids.dlqUrlOutput] = {
      Description: `Dead-letter queue of ${label}`,
      Value: { Ref: ids.dlq },
    };
  }
  Outputs.Webhooks = {
    Description: 'The webhook endpoints: name, format, queue and dead-letter queue URLs, rate.',
    Value: webhooksOutput(webhooks),
  };
  return { Resources, Outputs };
}

// Upper bounds of what CloudFormation substitutes, for the size check below: the longest
// partition (aws-us-gov), a region name and an account id.
const PARTITION_MAX = 10;
const REGION_MAX = 20;
const ACCOUNT_LENGTH = 12;
const REF_MAX = 255;

/**
 * The most bytes the function's environment can take once deployed: every value as written,
 * each queue ARN and URL at its longest. Lambda refuses more than 4 KB.
 */
export function environmentBound(variables, webhooks, queuePrefix) {
  const names = new Map(
    webhooks.map((webhook) => [
      webhookLogicalIds(webhook.name),
      queueNames(queuePrefix, webhook.name),
    ]),
  );
  const longest = {};
  for (const [ids, queues] of names) {
    // arn:<partition>:sqs:<region>:<account>:<name>
    longest[`\${${ids.queue}.Arn}`] =
      'arn::sqs:::'.length + PARTITION_MAX + REGION_MAX + ACCOUNT_LENGTH + queues.queue.length;
    // https://sqs.<region>.amazonaws.com.cn/<account>/<name>
    longest[`\${${ids.dlq}}`] =
      'https://sqs..amazonaws.com.cn//'.length + REGION_MAX + ACCOUNT_LENGTH + queues.dlq.length;
  }
  const bytes = (text) => Buffer.byteLength(text, 'utf8');
  return Object.entries(variables).reduce((total, [key, value]) => {
    if (typeof value === 'string') return total + bytes(key) + bytes(value);
    const sub = value?.['Fn::Sub'];
    if (typeof sub === 'string') {
      const text = sub.replace(/\$\{[^}!][^}]*\}/g, (reference) =>
        'x'.repeat(longest[reference] ?? REF_MAX),
      );
      return total + bytes(key) + bytes(text.replaceAll('${!', '${'));
    }
    return total + bytes(key) + REF_MAX;
  }, 0);
}

export default class WebhooksPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // Fail before bundling, with the bad entry named.
      'before:package:initialize': () => {
        this.webhooks();
      },
      // After the `resources` block is merged: the deliver role is defined there.
      'after:aws:package:finalize:mergeCustomProviderResources': () => {
        this.compile();
      },
    };
  }

  fail(message) {
    return new this.serverless.classes.Error(message);
  }

  settings() {
    const settings = this.serverless.service.custom?.webhooks;
    const missing = ['topic', 'alarmTopic', 'function', 'role', 'queuePrefix'].filter(
      (key) => typeof settings?.[key] !== 'string' || settings[key] === '',
    );
    if (missing.length > 0) {
      throw this.fail(
        `custom.webhooks needs ${missing.join(', ')}: the logical ids of the events topic, the alarm topic and the deliver role, the deliver function's key under functions, and the prefix of queue names`,
      );
    }
    return settings;
  }

  webhooks() {
    const { webhooks, queuePrefix } = this.settings();
    try {
      return parseWebhooks(webhooks, { queuePrefix });
    } catch (error) {
      if (error instanceof WebhookConfigError) throw this.fail(error.message);
      throw error;
    }
  }

  compile() {
    const settings = this.settings();
    const webhooks = this.webhooks();
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const naming = this.serverless.getProvider('aws').naming;
    const deliverFunction = naming.getLambdaLogicalId(settings.function);
    const fn = template.Resources[deliverFunction];
    const role = template.Resources[settings.role];
    if (fn?.Type !== 'AWS::Lambda::Function' || role?.Type !== 'AWS::IAM::Role') {
      throw this.fail(
        `custom.webhooks: no function "${settings.function}" or no role ${settings.role} in the template`,
      );
    }

    const { Resources, Outputs } = webhookResources(webhooks, {
      topic: settings.topic,
      alarmTopic: settings.alarmTopic,
      deliverFunction,
      queuePrefix: settings.queuePrefix,
      timeoutSeconds: fn.Properties.Timeout,
    });
    for (const [logicalId, resource] of Object.entries(Resources)) {
      if (logicalId in template.Resources) {
        throw this.fail(`Webhook resource ${logicalId} already exists`);
      }
      template.Resources[logicalId] = resource;
    }
    template.Outputs ??= {};
    for (const [logicalId, output] of Object.entries(Outputs)) {
      if (logicalId in template.Outputs) throw this.fail(`Output ${logicalId} already exists`);
      template.Outputs[logicalId] = output;
    }

    fn.Properties.Environment ??= {};
    fn.Properties.Environment.Variables ??= {};
    const variables = fn.Properties.Environment.Variables;
    variables.WEBHOOKS = webhooksEnvironment(webhooks);
    const bound = environmentBound(variables, webhooks, settings.queuePrefix);
    if (bound > ENVIRONMENT_MAX_BYTES) {
      throw this.fail(
        `Invalid "webhooks" param: ${webhooks.length} endpoints make the ${settings.function} function's environment up to ${bound} bytes once deployed; Lambda allows ${ENVIRONMENT_MAX_BYTES}. Use shorter names and SSM parameter names, or fewer endpoints per stage.`,
      );
    }

    const statements = deliverStatements(webhooks);
    if (statements.length > 0) {
      role.Properties.Policies ??= [];
      role.Properties.Policies.push({
        PolicyName: 'webhooks',
        PolicyDocument: { Version: '2012-10-17', Statement: statements },
      });
    }
  }
}
