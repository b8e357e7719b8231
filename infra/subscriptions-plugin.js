// Serverless plugin (osls and serverless v4): the SNS subscriptions declared in the
// `subscriptions` param. Serverless variables cannot loop, so this adds, per entry, the
// subscription, its own dead-letter queue, the queue policy that lets the topic use it, an
// alarm on it and an output with its URL; for Lambda endpoints also the invoke permission.
//
// ESM on purpose: package.json says "type": "module", and osls/serverless load ESM plugins.
import { createHash } from 'node:crypto';
import { URL } from 'node:url';
import { countWebhooks } from './webhooks-plugin.js';

const PROTOCOLS = ['https', 'sqs', 'lambda'];
const KEYS = [
  'name',
  'protocol',
  'endpoint',
  'filterPolicy',
  'filterPolicyScope',
  'rawMessageDelivery',
];
const SCOPES = ['MessageAttributes', 'MessageBody'];

// What a filter policy can name, per scope: the message attributes and the top-level body
// fields every event has (lib/events.ts, `messageAttributes` and `formEventSchema`). SNS takes a
// policy on anything else and then matches nothing, silently, so a typo loses every event.
export const FILTERABLE = Object.freeze({
  MessageAttributes: Object.freeze(['event_type', 'form_id', 'user_city']),
  MessageBody: Object.freeze([
    'id',
    'type',
    'schema_version',
    'occurred_at',
    'detected_at',
    'truncated',
    'data',
  ]),
});

// SQS: the longest retention, so an operator has two weeks to notice and redrive.
const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

// SNS: 20 HTTPS retries backing off to 5 min (about 35 min in all; SNS caps a policy at 1 h),
// and at most 10 requests/s to the consumer.
export const HTTPS_DELIVERY_POLICY = Object.freeze({
  healthyRetryPolicy: {
    numRetries: 20,
    numNoDelayRetries: 0,
    minDelayTarget: 1,
    numMinDelayRetries: 2,
    maxDelayTarget: 300,
    numMaxDelayRetries: 5,
    backoffFunction: 'exponential',
  },
  throttlePolicy: { maxReceivesPerSecond: 10 },
  requestPolicy: { headerContentType: 'application/json' },
});

const SQS_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}(\.fifo)?$/;
const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:[\w$-]{1,128})?$/;
const NAME = /^[A-Za-z0-9]{1,48}$/;

export class SubscriptionConfigError extends Error {
  name = 'SubscriptionConfigError';
}

/**
 * Parses and validates the `subscriptions` param: a list (or, from `--param`, a JSON string of
 * a list) of `{ name?, protocol, endpoint, filterPolicy?, filterPolicyScope?,
 * rawMessageDelivery? }`. Throws one SubscriptionConfigError naming the bad entry.
 */
export function parseSubscriptions(raw) {
  if (raw === undefined || raw === null || raw === '') return [];
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch (error) {
      throw new SubscriptionConfigError(
        `Invalid "subscriptions" param: not a JSON list (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  }
  if (!Array.isArray(list)) {
    throw new SubscriptionConfigError(
      'Invalid "subscriptions" param: must be a list of {protocol, endpoint, filterPolicy?, filterPolicyScope?, rawMessageDelivery?}',
    );
  }
  const parsed = list.map((entry, index) => parseEntry(entry, index));
  const seen = new Map();
  for (const [index, subscription] of parsed.entries()) {
    const earlier = seen.get(subscription.id);
    if (earlier !== undefined) {
      throw new SubscriptionConfigError(
        `${describe(list[index], index)}: same ${subscription.name === undefined ? 'protocol and endpoint' : 'name'} as entry #${earlier + 1}`,
      );
    }
    seen.set(subscription.id, index);
  }
  return parsed;
}

function describe(entry, index) {
  const label =
    entry !== null && typeof entry === 'object' && !Array.isArray(entry)
      ? [entry.name, entry.protocol, entry.endpoint].filter((part) => part !== undefined).join(' ')
      : JSON.stringify(entry);
  return `Invalid "subscriptions" param, entry #${index + 1} (${label})`;
}

function parseEntry(entry, index) {
  const fail = (reason) => {
    throw new SubscriptionConfigError(`${describe(entry, index)}: ${reason}`);
  };
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    fail('must be an object such as {"protocol": "sqs", "endpoint": "arn:aws:sqs:…"}');
  }
  const unknown = Object.keys(entry).filter((key) => !KEYS.includes(key));
  if (unknown.length > 0) fail(`unknown key(s) ${unknown.join(', ')}; allowed: ${KEYS.join(', ')}`);

  const { name, protocol, endpoint } = entry;
  if (name !== undefined && (typeof name !== 'string' || !NAME.test(name))) {
    fail('name must be 1–48 letters or digits (it becomes part of CloudFormation logical ids)');
  }
  if (!PROTOCOLS.includes(protocol)) fail(`protocol must be one of ${PROTOCOLS.join(', ')}`);
  if (typeof endpoint !== 'string' || endpoint === '') fail('endpoint is required');
  if (protocol === 'https' && !isHttpsUrl(endpoint)) fail('endpoint must be an https:// URL');
  if (protocol === 'sqs') {
    const match = SQS_ARN.exec(endpoint);
    if (match === null) fail('endpoint must be an SQS queue ARN');
    // SNS: a standard topic cannot deliver to a FIFO queue.
    if (match?.[1] !== undefined) fail('endpoint must be a standard (not FIFO) queue');
  }
  if (protocol === 'lambda' && !LAMBDA_ARN.test(endpoint)) {
    fail('endpoint must be a Lambda function ARN');
  }

  const { filterPolicy, filterPolicyScope } = parseFilterPolicy(
    entry.filterPolicy,
    entry.filterPolicyScope,
    fail,
  );

  let rawMessageDelivery;
  if (entry.rawMessageDelivery !== undefined) {
    const value = entry.rawMessageDelivery;
    rawMessageDelivery =
      value === true || value === 'true'
        ? true
        : value === false || value === 'false'
          ? false
          : undefined;
    if (rawMessageDelivery === undefined) fail('rawMessageDelivery must be true or false');
    // SNS: raw delivery exists for sqs and https (and firehose), not for lambda.
    if (protocol === 'lambda' && rawMessageDelivery)
      fail('rawMessageDelivery is not supported for lambda');
  }

  const id =
    name ?? `S${createHash('sha256').update(`${protocol} ${endpoint}`).digest('hex').slice(0, 10)}`;
  return {
    id,
    name,
    protocol,
    endpoint,
    ...(filterPolicy !== undefined && { filterPolicy }),
    ...(filterPolicyScope !== undefined && { filterPolicyScope }),
    ...(rawMessageDelivery !== undefined && { rawMessageDelivery }),
  };
}

/**
 * Validates an entry's `filterPolicy` (an object, or its JSON text) and `filterPolicyScope`, as
 * SNS takes them and as events can match them. Calls `fail(reason)`, which must throw, on the
 * first problem; the reason names the field. Shared by every param that subscribes to the topic.
 */
export function parseFilterPolicy(rawPolicy, filterPolicyScope, fail) {
  let filterPolicy;
  if (rawPolicy !== undefined) {
    filterPolicy = rawPolicy;
    if (typeof filterPolicy === 'string') {
      try {
        filterPolicy = JSON.parse(filterPolicy);
      } catch {
        fail('filterPolicy must be a JSON object');
      }
    }
    if (
      filterPolicy === null ||
      typeof filterPolicy !== 'object' ||
      Array.isArray(filterPolicy) ||
      Object.keys(filterPolicy).length === 0
    ) {
      fail('filterPolicy must be a non-empty object, e.g. {"form_id": [842]}');
    }
  }
  if (filterPolicyScope !== undefined) {
    if (!SCOPES.includes(filterPolicyScope))
      fail(`filterPolicyScope must be one of ${SCOPES.join(', ')}`);
    if (filterPolicy === undefined) fail('filterPolicyScope needs a filterPolicy');
  }
  if (filterPolicy !== undefined) {
    const known = FILTERABLE[filterPolicyScope ?? 'MessageAttributes'];
    const unknown = [...new Set(policyKeys(filterPolicy))].filter((key) => !known.includes(key));
    if (unknown.length > 0) {
      fail(
        `filterPolicy names ${unknown.join(', ')}, which no event carries, so it would match nothing; ` +
          `with filterPolicyScope ${filterPolicyScope ?? 'MessageAttributes'} use ${known.join(', ')}`,
      );
    }
  }
  return { filterPolicy, filterPolicyScope };
}

// The top-level names a policy matches on; `$or` branches count as top level (SNS "OR operator").
function policyKeys(policy) {
  return Object.entries(policy).flatMap(([key, value]) =>
    key === '$or' && Array.isArray(value)
      ? value.flatMap((branch) =>
          branch !== null && typeof branch === 'object' && !Array.isArray(branch)
            ? policyKeys(branch)
            : [],
        )
      : [key],
  );
}

function isHttpsUrl(value) {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Logical ids of what one subscription adds, so tests and outputs agree on them. */
export function logicalIds(id) {
  const base = `EventsSubscription${id}`;
  return {
    subscription: base,
    dlq: `${base}Dlq`,
    dlqPolicy: `${base}DlqPolicy`,
    dlqAlarm: `${base}DlqAlarm`,
    permission: `${base}Permission`,
    dlqUrlOutput: `${base}DlqUrl`,
  };
}

/**
 * The CloudFormation resources and outputs for validated subscriptions on the topic
 * `topic` (a logical id), with DLQ alarms notifying `alarmTopic` (a logical id).
 */
export function subscriptionResources(subscriptions, { topic, alarmTopic }) {
  const Resources = {};
  const Outputs = {};
  for (const subscription of subscriptions) {
    const ids = logicalIds(subscription.id);
    const label = `${subscription.protocol} ${subscription.endpoint}`;

    Resources[ids.dlq] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        MessageRetentionPeriod: DLQ_RETENTION_SECONDS,
        // SSE-SQS: SNS can deliver to it without a KMS grant.
        SqsManagedSseEnabled: true,
      },
    };
    // Only the dead-letter queue is ours. An sqs endpoint's own queue policy belongs to its
    // consumer, who must let this topic send to it (and, if SSE-KMS, let SNS use the key).
    Resources[ids.dlqPolicy] = {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: ids.dlq }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TopicDeadLetters',
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
              Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topic } } },
            },
          ],
        },
      },
    };

    const dependsOn = [ids.dlqPolicy];
    if (subscription.protocol === 'lambda') {
      Resources[ids.permission] = {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: subscription.endpoint,
          Principal: 'sns.amazonaws.com',
          SourceArn: { Ref: topic },
        },
      };
      dependsOn.push(ids.permission);
    }

    Resources[ids.subscription] = {
      Type: 'AWS::SNS::Subscription',
      DependsOn: dependsOn,
      Properties: {
        TopicArn: { Ref: topic },
        Protocol: subscription.protocol,
        Endpoint: subscription.endpoint,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
        ...(subscription.filterPolicy !== undefined && { FilterPolicy: subscription.filterPolicy }),
        ...(subscription.filterPolicyScope !== undefined && {
          FilterPolicyScope: subscription.filterPolicyScope,
        }),
        ...(subscription.rawMessageDelivery !== undefined && {
          RawMessageDelivery: subscription.rawMessageDelivery,
        }),
        ...(subscription.protocol === 'https' && { DeliveryPolicy: HTTPS_DELIVERY_POLICY }),
      },
    };

    Resources[ids.dlqAlarm] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `Events to ${label} failed delivery and wait in its dead-letter queue.`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: alarmTopic }],
        OKActions: [{ Ref: alarmTopic }],
      },
    };

    Outputs[ids.dlqUrlOutput] = {
      Description: `Dead-letter queue of the subscription ${label}`,
      Value: { Ref: ids.dlq },
    };
  }
  return { Resources, Outputs };
}

/**
 * The packaging warning for a stage whose events would reach nobody, or undefined when
 * something receives them. `destinations` counts each way events leave the topic, e.g.
 * `{ subscriptions: 2 }`: another kind of destination adds its own count.
 */
export function noDestinationsWarning(stage, destinations) {
  const total = Object.values(destinations).reduce((sum, count) => sum + count, 0);
  if (total > 0) return undefined;
  return (
    `Stage "${stage}" has no subscriptions and no webhooks (its "subscriptions" and "webhooks" params are empty): ` +
    'it will publish every event to a topic nobody reads. Add one to either param, or subscribe to the EventsTopicArn output.'
  );
}

export default class SubscriptionsPlugin {
  // osls and serverless v4 pass their log as the third argument; older hosts only `cli.log`.
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = utils?.log;
    this.hooks = {
      // Fail before bundling, with the bad entry named; say so if events would reach nobody.
      'before:package:initialize': () => {
        const subscriptions = this.subscriptions();
        const warning = noDestinationsWarning(this.stage(), {
          subscriptions: subscriptions.length,
          webhooks: this.webhooks(),
        });
        if (warning !== undefined) this.warn(warning);
      },
      'package:compileEvents': () => {
        this.compile();
      },
    };
  }

  stage() {
    return (
      this.serverless.getProvider?.('aws')?.getStage?.() ?? this.serverless.service.provider.stage
    );
  }

  warn(message) {
    if (typeof this.log?.warning === 'function') this.log.warning(message);
    else this.serverless.cli?.log(`Warning: ${message}`);
  }

  /** How many webhooks the stage declares; a bad list is the webhooks plugin's to report. */
  webhooks() {
    try {
      return countWebhooks(this.serverless.service.custom?.webhooks?.webhooks);
    } catch {
      return 0;
    }
  }

  settings() {
    const settings = this.serverless.service.custom?.eventSubscriptions;
    if (typeof settings?.topic !== 'string' || typeof settings.alarmTopic !== 'string') {
      throw new this.serverless.classes.Error(
        'custom.eventSubscriptions needs "topic" and "alarmTopic": the logical ids of the events and alarm topics',
      );
    }
    return settings;
  }

  subscriptions() {
    try {
      return parseSubscriptions(this.settings().subscriptions);
    } catch (error) {
      if (error instanceof SubscriptionConfigError) {
        throw new this.serverless.classes.Error(error.message);
      }
      throw error;
    }
  }

  compile() {
    const { topic, alarmTopic } = this.settings();
    const { Resources, Outputs } = subscriptionResources(this.subscriptions(), {
      topic,
      alarmTopic,
    });
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    template.Outputs ??= {};
    for (const [logicalId, resource] of Object.entries(Resources)) {
      if (logicalId in template.Resources) {
        throw new this.serverless.classes.Error(
          `Subscription resource ${logicalId} already exists`,
        );
      }
      template.Resources[logicalId] = resource;
    }
    Object.assign(template.Outputs, Outputs);
  }
}
