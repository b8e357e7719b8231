import { readFile } from 'node:fs/promises';
import {
  DescribeStacksCommand,
  ListExportsCommand,
  ListStackResourcesCommand,
  type Export,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { logicalIds, parseSubscriptions } from '../../infra/subscriptions-plugin.js';
import {
  eventSourceSettings,
  MAX_CONCURRENCY,
  MAX_RECEIVE_COUNT,
  parseWebhooks,
  webhookLogicalIds,
} from '../../infra/webhooks-plugin.js';
import { loadDeliverConfig } from '../../lib/config.js';
import type { MotoClients } from './aws.js';
import { check, checkEqual, RehearsalError } from './errors.js';
import { deployedFunction, type DeployedFunction } from './lambda.js';
import { STACK, type Params } from './plan.js';

type Json = Record<string, unknown>;

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DeletionPolicy?: string;
}

/** The template osls deployed (.serverless/cloudformation-template-update-stack.json). */
export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Outputs?: Readonly<Record<string, { readonly Export?: { readonly Name?: unknown } }>>;
}

export async function readTemplate(path: string): Promise<Template> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || !('Resources' in parsed)) {
    throw new RehearsalError(`${path} is not a CloudFormation template`);
  }
  return parsed as Template;
}

/** The deployed stack as moto reports it. */
export interface Deployed {
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** OutputKey → ExportName, for outputs that have one. */
  readonly exportNames: Readonly<Record<string, string>>;
  /** Logical id → physical id of every resource moto created. */
  readonly physicalIds: Readonly<Record<string, string>>;
  readonly fn: DeployedFunction;
}

export async function inspectStack(aws: MotoClients): Promise<Deployed> {
  const { Stacks: stacks = [] } = await aws.cloudFormation.send(
    new DescribeStacksCommand({ StackName: STACK }),
  );
  const stack = stacks[0];
  if (stack?.StackStatus === undefined)
    throw new RehearsalError(`DescribeStacks found no ${STACK}`);
  const outputs: Record<string, string> = {};
  const exportNames: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey === undefined || output.OutputValue === undefined) continue;
    outputs[output.OutputKey] = output.OutputValue;
    if (output.ExportName !== undefined) exportNames[output.OutputKey] = output.ExportName;
  }
  const physicalIds: Record<string, string> = {};
  for (const resource of await stackResources(aws)) {
    // moto lists each resource it skipped as an entry with no ids.
    if (resource.LogicalResourceId && resource.PhysicalResourceId) {
      physicalIds[resource.LogicalResourceId] = resource.PhysicalResourceId;
    }
  }
  const functionName = physicalIds.PollLambdaFunction;
  check(functionName !== undefined, `${STACK} has no PollLambdaFunction resource`);
  const fn = deployedFunction(
    await aws.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName })),
  );
  return { status: stack.StackStatus, outputs, exportNames, physicalIds, fn };
}

async function stackResources(aws: MotoClients): Promise<StackResourceSummary[]> {
  const all: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await aws.cloudFormation.send(
      new ListStackResourcesCommand({ StackName: STACK, NextToken: token }),
    );
    all.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return all;
}

async function allExports(aws: MotoClients): Promise<Export[]> {
  const all: Export[] = [];
  let token: string | undefined;
  do {
    const page = await aws.cloudFormation.send(new ListExportsCommand({ NextToken: token }));
    all.push(...(page.Exports ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return all;
}

/**
 * Settings of the template that moto did not apply; see EXPECTED_UNPROVEN. `note` records
 * one when moto's value differs from the template's.
 */
class Unproven {
  readonly found = new Set<string>();
  note(setting: string, applied: boolean): void {
    if (!applied) this.found.add(setting);
  }
}

function resource(template: Template, logicalId: string, type: string): Json {
  const found = template.Resources[logicalId];
  if (found?.Type !== type) {
    throw new RehearsalError(`the deployed template has no ${type} ${logicalId}`);
  }
  return found.Properties ?? {};
}

function physicalId(deployed: Deployed, logicalId: string): string {
  const id = deployed.physicalIds[logicalId];
  if (id === undefined) throw new RehearsalError(`moto created no ${logicalId}`);
  return id;
}

/**
 * The stack's outputs a deploy with `params` must have: fixed ones, a DLQ URL per subscription
 * (the alarm email's included), and per webhook its queue URLs, plus the Webhooks list.
 */
export function expectedOutputs(params: Params): string[] {
  const dlqs = parseSubscriptions(params.subscriptions).map(
    (subscription) => logicalIds(subscription.id).dlqUrlOutput,
  );
  const email = typeof params.alarmEmail === 'string' && params.alarmEmail !== '';
  const webhooks = parseWebhooks(params.webhooks).flatMap((webhook) => {
    const ids = webhookLogicalIds(webhook.name);
    return [ids.queueUrlOutput, ids.dlqUrlOutput];
  });
  return [
    'FormsTableName',
    'EventsTopicArn',
    'AlarmTopicArn',
    'Webhooks',
    ...(email ? ['AlarmEmailDlqUrl'] : []),
    ...dlqs,
    ...webhooks,
  ];
}

/**
 * Checks a finished deploy against the template osls sent and the params it was given.
 * Resolves to the settings moto did not apply (for EXPECTED_UNPROVEN) and the ARN of the
 * function's schedule rule.
 */
export async function checkStack(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  params: Params,
): Promise<{ unproven: Set<string>; scheduleRuleArn: string }> {
  const unproven = new Unproven();
  check(
    deployed.status === 'CREATE_COMPLETE' || deployed.status === 'UPDATE_COMPLETE',
    `${STACK} is ${deployed.status}, not CREATE_COMPLETE or UPDATE_COMPLETE`,
  );
  await checkOutputs(aws, deployed, params, unproven);
  await checkTable(aws, deployed, template, unproven);
  await checkTopics(aws, deployed, template, unproven);
  await checkFunction(aws, deployed, template, params, unproven);
  const scheduleRuleArn = await checkSchedule(aws, deployed, template);
  await checkDeadLetterQueues(aws, deployed, template, params);
  await checkWebhooks(aws, deployed, template, params, unproven);
  return { unproven: unproven.found, scheduleRuleArn };
}

async function checkOutputs(
  aws: MotoClients,
  deployed: Deployed,
  params: Params,
  unproven: Unproven,
): Promise<void> {
  const expected = expectedOutputs(params);
  const missing = expected.filter((key) => deployed.outputs[key] === undefined);
  check(missing.length === 0, `${STACK} lacks the output(s) ${missing.join(', ')}`);
  const stale = Object.keys(deployed.outputs).filter(
    (key) => key.endsWith('DlqUrl') && !expected.includes(key),
  );
  check(
    stale.length === 0,
    `${STACK} has dead-letter queue output(s) of no configured subscription: ${stale.join(', ')}`,
  );
  const exportName = `${STACK}-EventsTopicArn`;
  checkEqual(deployed.exportNames.EventsTopicArn, exportName, 'the EventsTopicArn output export');
  // moto registers exports only on CreateStack (moto/cloudformation/models.py, create_stack
  // and update_stack); a direct deploy creates the stack bare and adds everything by update.
  const listed = (await allExports(aws)).some(
    (each) => each.Name === exportName && each.Value === deployed.outputs.EventsTopicArn,
  );
  unproven.note('EventsTopicArn export in ListExports', listed);
}

async function checkTable(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  unproven: Unproven,
): Promise<void> {
  const declared = resource(template, 'FormsTable', 'AWS::DynamoDB::Table');
  const tableName = deployed.outputs.FormsTableName;
  checkEqual(tableName, physicalId(deployed, 'FormsTable'), 'the FormsTableName output');
  const { Table: table } = await aws.dynamo.send(
    new DescribeTableCommand({ TableName: tableName }),
  );
  check(table !== undefined, `DescribeTable found no ${tableName}`);
  checkEqual(table.KeySchema, declared.KeySchema, "the table's key schema");
  checkEqual(
    sortByName(table.AttributeDefinitions ?? []),
    sortByName((declared.AttributeDefinitions ?? []) as { AttributeName?: string }[]),
    "the table's attribute definitions",
  );
  checkEqual(
    (table.GlobalSecondaryIndexes ?? []).map(({ IndexName, KeySchema, Projection }) => ({
      IndexName,
      KeySchema,
      Projection,
    })),
    declared.GlobalSecondaryIndexes,
    "the table's global secondary indexes",
  );
  checkEqual(
    table.BillingModeSummary?.BillingMode,
    declared.BillingMode,
    "the table's billing mode",
  );
  checkEqual(
    table.DeletionProtectionEnabled,
    declared.DeletionProtectionEnabled,
    "the table's deletion protection",
  );
  check(
    template.Resources.FormsTable?.DeletionPolicy === 'Retain',
    'the template does not retain FormsTable on delete',
  );

  // Each as the template asks: on (and for TTL, on which attribute) or off.
  const ttl = declared.TimeToLiveSpecification as
    { AttributeName?: string; Enabled?: boolean } | undefined;
  const { TimeToLiveDescription: liveTtl } = await aws.dynamo.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  unproven.note(
    'FormsTable TimeToLiveSpecification',
    ttl?.Enabled === true
      ? liveTtl?.TimeToLiveStatus === 'ENABLED' && liveTtl.AttributeName === ttl.AttributeName
      : liveTtl?.TimeToLiveStatus !== 'ENABLED',
  );
  const pitr = declared.PointInTimeRecoverySpecification as
    { PointInTimeRecoveryEnabled?: boolean } | undefined;
  const { ContinuousBackupsDescription: backups } = await aws.dynamo.send(
    new DescribeContinuousBackupsCommand({ TableName: tableName }),
  );
  unproven.note(
    'FormsTable PointInTimeRecoverySpecification',
    (backups?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED') ===
      (pitr?.PointInTimeRecoveryEnabled === true),
  );
  const sse = declared.SSESpecification as { SSEEnabled?: boolean } | undefined;
  unproven.note(
    'FormsTable SSESpecification',
    (table.SSEDescription?.Status === 'ENABLED') === (sse?.SSEEnabled === true),
  );
}

function sortByName<T extends { AttributeName?: string | undefined }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.AttributeName ?? '').localeCompare(b.AttributeName ?? ''));
}

async function checkTopics(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  unproven: Unproven,
): Promise<void> {
  const keyId = physicalId(deployed, 'EventsKey');
  for (const [logicalId, output] of [
    ['EventsTopic', 'EventsTopicArn'],
    ['AlarmTopic', 'AlarmTopicArn'],
  ] as const) {
    const declared = resource(template, logicalId, 'AWS::SNS::Topic');
    checkEqual(declared.KmsMasterKeyId, { Ref: 'EventsKey' }, `the template's ${logicalId} key`);
    const topicArn = deployed.outputs[output];
    checkEqual(topicArn, physicalId(deployed, logicalId), `the ${output} output`);
    const { Attributes: attributes = {} } = await aws.sns.send(
      new GetTopicAttributesCommand({ TopicArn: topicArn }),
    );
    checkEqual(attributes.KmsMasterKeyId, keyId, `${logicalId}'s KMS key (the stack's EventsKey)`);
    if (declared.SignatureVersion !== undefined) {
      unproven.note(
        `${logicalId} SignatureVersion`,
        attributes.SignatureVersion === declared.SignatureVersion,
      );
    }
  }
}

async function checkFunction(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  params: Params,
  unproven: Unproven,
): Promise<void> {
  const declared = resource(template, 'PollLambdaFunction', 'AWS::Lambda::Function');
  const { fn } = deployed;
  checkEqual(fn.env.TABLE_NAME, deployed.outputs.FormsTableName, "the function's TABLE_NAME");
  checkEqual(fn.env.TOPIC_ARN, deployed.outputs.EventsTopicArn, "the function's TOPIC_ARN");
  checkEqual(fn.env.FORM_IDS, params.formIds, "the function's FORM_IDS (the formIds param)");
  checkEqual(
    fn.env.WEIBAN_CORP_ID,
    params.weibanCorpId,
    "the function's WEIBAN_CORP_ID (the weibanCorpId param)",
  );
  // Every other variable exactly as the template sets it.
  const variables = (declared.Environment as { Variables?: Json } | undefined)?.Variables ?? {};
  const literal = Object.fromEntries(
    Object.entries(variables).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
  const deployedLiteral = Object.fromEntries(
    Object.entries(fn.env).filter(([name]) => name in literal),
  );
  checkEqual(deployedLiteral, literal, "the function's environment");
  checkEqual(
    Object.keys(fn.env).sort(),
    Object.keys(variables).sort(),
    "the function's variable names",
  );
  checkEqual(fn.handler, declared.Handler, "the function's handler");
  checkEqual(fn.timeoutSeconds, declared.Timeout, "the function's timeout");
  checkEqual(fn.memoryMb, declared.MemorySize, "the function's memory size");
  checkEqual(fn.runtime, declared.Runtime, "the function's runtime");
  unproven.note(
    'PollLambdaFunction Architectures',
    JSON.stringify(fn.architectures) === JSON.stringify(declared.Architectures),
  );
  const concurrency = await aws.lambda.send(
    new GetFunctionConcurrencyCommand({ FunctionName: fn.name }),
  );
  unproven.note(
    'PollLambdaFunction ReservedConcurrentExecutions',
    concurrency.ReservedConcurrentExecutions === declared.ReservedConcurrentExecutions,
  );
}

async function checkSchedule(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
): Promise<string> {
  const rules = Object.entries(template.Resources).filter(
    ([, each]) =>
      each.Type === 'AWS::Events::Rule' &&
      JSON.stringify(each.Properties?.Targets).includes('"PollLambdaFunction"'),
  );
  check(
    rules.length === 1,
    `the template has ${rules.length} schedule rules for the function, not 1`,
  );
  const [logicalId = ''] = rules[0] ?? [];
  const name = physicalId(deployed, logicalId);
  const rule = await aws.events.send(new DescribeRuleCommand({ Name: name }));
  checkEqual(rule.ScheduleExpression, 'rate(1 minute)', `the schedule rule ${logicalId}`);
  checkEqual(rule.State, 'ENABLED', `the state of the schedule rule ${logicalId}`);
  const { Targets: targets = [] } = await aws.events.send(
    new ListTargetsByRuleCommand({ Rule: name }),
  );
  checkEqual(
    targets.map((target) => target.Arn),
    [deployed.fn.arn],
    `the targets of the schedule rule ${logicalId}`,
  );
  check(rule.Arn !== undefined, `DescribeRule ${name} returned no ARN`);
  return rule.Arn;
}

async function checkDeadLetterQueues(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  params: Params,
): Promise<void> {
  for (const subscription of parseSubscriptions(params.subscriptions)) {
    const ids = logicalIds(subscription.id);
    const declared = resource(template, ids.dlq, 'AWS::SQS::Queue');
    const url = deployed.outputs[ids.dlqUrlOutput];
    checkEqual(url, physicalId(deployed, ids.dlq), `the ${ids.dlqUrlOutput} output`);
    const { Attributes: attributes = {} } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['MessageRetentionPeriod'] }),
    );
    checkEqual(
      attributes.MessageRetentionPeriod,
      String(declared.MessageRetentionPeriod),
      `the message retention of ${ids.dlq}`,
    );
  }
}

/**
 * Each webhook's queue and dead-letter queue as the template declares them, the Webhooks
 * output the CLI reads, the deliver function with the WEBHOOKS setting it parses at cold
 * start (queue ARNs and URLs resolved by the deploy), and one event source mapping per queue.
 */
async function checkWebhooks(
  aws: MotoClients,
  deployed: Deployed,
  template: Template,
  params: Params,
  unproven: Unproven,
): Promise<void> {
  const webhooks = parseWebhooks(params.webhooks);
  const declaredFn = resource(template, 'DeliverLambdaFunction', 'AWS::Lambda::Function');
  const functionName = physicalId(deployed, 'DeliverLambdaFunction');
  const fn = await aws.lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: functionName }),
  );
  checkEqual(fn.Handler, declaredFn.Handler, "the deliver function's handler");
  checkEqual(fn.Timeout, declaredFn.Timeout, "the deliver function's timeout");
  checkEqual(fn.MemorySize, declaredFn.MemorySize, "the deliver function's memory size");
  checkEqual(fn.Runtime, declaredFn.Runtime, "the deliver function's runtime");
  const env = fn.Environment?.Variables ?? {};
  checkEqual(env.TABLE_NAME, deployed.outputs.FormsTableName, "the deliver function's TABLE_NAME");
  check(
    env.WEBHOOK_ALLOW_LOOPBACK === undefined,
    'the deployed deliver function sets WEBHOOK_ALLOW_LOOPBACK, which only local runs may',
  );
  const listed: unknown[] = [];
  const settings: unknown[] = [];
  for (const webhook of webhooks) {
    const ids = webhookLogicalIds(webhook.name);
    const queueUrl = deployed.outputs[ids.queueUrlOutput];
    const dlqUrl = deployed.outputs[ids.dlqUrlOutput];
    checkEqual(queueUrl, physicalId(deployed, ids.queue), `the ${ids.queueUrlOutput} output`);
    checkEqual(dlqUrl, physicalId(deployed, ids.dlq), `the ${ids.dlqUrlOutput} output`);
    const queue = await queueAttributes(aws, queueUrl ?? '');
    const dlq = await queueAttributes(aws, dlqUrl ?? '');
    const declared = resource(template, ids.queue, 'AWS::SQS::Queue');
    checkEqual(
      queue.VisibilityTimeout,
      String(declared.VisibilityTimeout),
      `${ids.queue}'s visibility timeout`,
    );
    for (const [logicalId, attributes] of [
      [ids.queue, queue],
      [ids.dlq, dlq],
    ] as const) {
      const properties = resource(template, logicalId, 'AWS::SQS::Queue');
      checkEqual(
        attributes.MessageRetentionPeriod,
        String(properties.MessageRetentionPeriod),
        `the message retention of ${logicalId}`,
      );
      unproven.note(
        `${logicalId} SqsManagedSseEnabled`,
        attributes.SqsManagedSseEnabled === 'true',
      );
    }
    checkEqual(
      JSON.parse(queue.RedrivePolicy ?? '{}'),
      { deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: MAX_RECEIVE_COUNT },
      `${ids.queue}'s redrive policy`,
    );
    listed.push({
      name: webhook.name,
      format: webhook.format,
      queueUrl,
      dlqUrl,
      ratePerMinute: webhook.ratePerMinute,
    });
    settings.push({
      name: webhook.name,
      format: webhook.format,
      ...(webhook.url !== undefined && { url: webhook.url }),
      ...(webhook.urlParam !== undefined && { urlParam: webhook.urlParam }),
      ...(webhook.secretParam !== undefined && { secretParam: webhook.secretParam }),
      ratePerMinute: webhook.ratePerMinute,
      ...(webhook.format === 'feishu' && { ratePerSecond: 5 }),
      queueArn: queue.QueueArn,
      dlqUrl,
    });
    // By the queue alone: moto keeps the FunctionName a mapping was created with (here the
    // function's ARN) and filters on that text, so a filter by name would find none.
    const { EventSourceMappings: fromQueue = [] } = await aws.lambda.send(
      new ListEventSourceMappingsCommand({ EventSourceArn: queue.QueueArn }),
    );
    const mappings = fromQueue.filter((each) => each.FunctionArn === fn.FunctionArn);
    check(
      mappings.length === 1 && fromQueue.length === 1,
      `${ids.eventSource}: ${mappings.length} event source mapping(s) from ${ids.queue} to the deliver function and ${fromQueue.length - mappings.length} elsewhere, not exactly 1 to it`,
    );
    const [mapping] = mappings;
    const reading = eventSourceSettings(webhook.format);
    checkEqual(mapping?.BatchSize, reading.BatchSize, `${ids.eventSource}'s batch size`);
    checkEqual(
      mapping?.MaximumBatchingWindowInSeconds ?? 0,
      reading.MaximumBatchingWindowInSeconds ?? 0,
      `${ids.eventSource}'s batching window`,
    );
    unproven.note(
      `${ids.eventSource} FunctionResponseTypes`,
      JSON.stringify(mapping?.FunctionResponseTypes) === '["ReportBatchItemFailures"]',
    );
    unproven.note(
      `${ids.eventSource} ScalingConfig`,
      mapping?.ScalingConfig?.MaximumConcurrency === MAX_CONCURRENCY,
    );
  }
  checkEqual(JSON.parse(deployed.outputs.Webhooks ?? 'null'), listed, 'the Webhooks output');
  // As the function reads it at cold start (a bad entry would fail there, naming it).
  const config = loadDeliverConfig({ TABLE_NAME: env.TABLE_NAME, WEBHOOKS: env.WEBHOOKS });
  checkEqual(
    JSON.parse(JSON.stringify(config.webhooks)),
    settings,
    "the deliver function's WEBHOOKS, as it parses them",
  );
}

async function queueAttributes(aws: MotoClients, url: string): Promise<Record<string, string>> {
  const { Attributes: attributes = {} } = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  return attributes;
}
