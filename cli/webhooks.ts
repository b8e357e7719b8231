import { DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { ConfigError, loadDeliverConfig, type DeliverConfig } from '../lib/config.js';
import { FORMATS, type Endpoint, type Format } from '../lib/webhooks/endpoints.js';
import type { CommandContext } from './command.js';
import { CliError, UsageError } from './errors.js';
import type { Target } from './target.js';

/** One endpoint as the operator commands know it: where its queues are, never its URL. */
export interface WebhookEndpoint {
  readonly name: string;
  readonly format: Format;
  readonly ratePerMinute: number;
  readonly queueUrl: string;
  readonly dlqUrl: string;
}

/** The endpoints of one deployment, and how to read the settings the deliver function has. */
export interface Webhooks {
  readonly target: Target;
  /** Where the list came from, for messages: the stack's output or the variable. */
  readonly source: string;
  readonly endpoints: readonly WebhookEndpoint[];
  /**
   * An endpoint's settings as the deliver function has them (URL or URL parameter, secret
   * parameter, queue ARN), and whether it may send plain http to loopback (only a local
   * run's WEBHOOK_ALLOW_LOOPBACK): from the function's configuration with `--stage`, from
   * WEBHOOKS otherwise. Only `webhooks test` and `rotate-secret` need them.
   */
  settings(name: string): Promise<EndpointSettings>;
}

export interface EndpointSettings {
  readonly endpoint: Endpoint;
  readonly allowLoopback: boolean;
}

const outputSchema = z.array(
  z.object({
    name: z.string(),
    format: z.enum(FORMATS),
    queueUrl: z.string(),
    dlqUrl: z.string(),
    ratePerMinute: z.number(),
  }),
);

// serverless.yml: the function `deliver` has this logical id in the stack.
const DELIVER_FUNCTION_ID = 'DeliverLambdaFunction';

/**
 * The deployment's webhook endpoints: with `--stage`, the stack's `Webhooks` output (names,
 * formats, queue URLs, rates; no URL and no parameter); otherwise the WEBHOOKS variable, in
 * the deliver function's own format (what `npm start` writes to .local/weiban-forms.env).
 */
export async function webhooksOf(ctx: CommandContext): Promise<Webhooks> {
  const target = await ctx.target();
  const { stack } = target;
  if (stack !== undefined) {
    const raw = stack.outputs.get('Webhooks');
    if (raw === undefined) {
      throw new CliError(
        `stack ${stack.name} has no Webhooks output: it was deployed before webhooks existed; deploy it again`,
      );
    }
    let parsed: z.infer<typeof outputSchema>;
    try {
      parsed = outputSchema.parse(JSON.parse(raw));
    } catch {
      throw new CliError(`the Webhooks output of stack ${stack.name} is not the endpoint list`);
    }
    let settings: Promise<DeliverConfig> | undefined;
    return {
      target,
      source: `the Webhooks output of stack ${stack.name}`,
      endpoints: parsed,
      settings: async (name) => {
        settings ??= functionSettings(ctx, stack.name, target.tableName);
        return pick(await settings, name, `the deliver function of stack ${stack.name}`);
      },
    };
  }
  const raw = ctx.io.env.WEBHOOKS;
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError(
      'say where the webhook endpoints are: --stage STAGE (the stack weiban-forms-STAGE), or WEBHOOKS with the endpoint list (npm start writes it to .local/weiban-forms.env)',
    );
  }
  const config = deliverConfig({
    TABLE_NAME: target.tableName,
    WEBHOOKS: raw,
    WEBHOOK_ALLOW_LOOPBACK: ctx.io.env.WEBHOOK_ALLOW_LOOPBACK,
  });
  const { sqs } = ctx.clients();
  return {
    target,
    source: 'WEBHOOKS',
    endpoints: await Promise.all(
      config.webhooks.map(async (endpoint) => ({
        name: endpoint.name,
        format: endpoint.format,
        ratePerMinute: endpoint.ratePerMinute,
        queueUrl: await queueUrlOf(sqs, endpoint.queueArn),
        dlqUrl: endpoint.dlqUrl,
      })),
    ),
    settings: (name) => Promise.resolve(pick(config, name, 'WEBHOOKS')),
  };
}

/** The endpoint `--endpoint` names, or a sentence listing the ones there are. */
export function endpointNamed(webhooks: Webhooks, raw: string | undefined): WebhookEndpoint {
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError(`--endpoint is required: ${available(webhooks.endpoints, webhooks)}`);
  }
  const found = webhooks.endpoints.find((endpoint) => endpoint.name === raw.trim());
  if (found === undefined) {
    throw new CliError(
      `${webhooks.target.label} has no webhook endpoint "${raw.trim()}": ${available(webhooks.endpoints, webhooks)}`,
    );
  }
  return found;
}

function available(endpoints: readonly { name: string }[], webhooks: Webhooks): string {
  return endpoints.length === 0
    ? `${webhooks.source} lists no endpoint (the stage's webhooks param is empty)`
    : `the endpoints are ${endpoints.map((endpoint) => endpoint.name).join(', ')}`;
}

function pick(config: DeliverConfig, name: string, where: string): EndpointSettings {
  const found = config.webhooks.find((endpoint) => endpoint.name === name);
  if (found === undefined) {
    throw new CliError(`${where} has no endpoint ${name}: is the stack's deploy finished?`);
  }
  return { endpoint: found, allowLoopback: config.allowLoopback };
}

/** The webhook settings of the stack's deliver function, parsed as the function parses them. */
async function functionSettings(
  ctx: CommandContext,
  stack: string,
  tableName: string,
): Promise<DeliverConfig> {
  const { cloudFormation, lambda } = ctx.clients();
  const found = await cloudFormation.send(
    new DescribeStackResourceCommand({ StackName: stack, LogicalResourceId: DELIVER_FUNCTION_ID }),
  );
  const functionName = found.StackResourceDetail?.PhysicalResourceId;
  if (functionName === undefined) {
    throw new CliError(`stack ${stack} has no deliver function (${DELIVER_FUNCTION_ID})`);
  }
  const configuration = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: functionName }),
  );
  const variables = configuration.Environment?.Variables ?? {};
  return deliverConfig({
    TABLE_NAME: tableName,
    WEBHOOKS: variables.WEBHOOKS,
    WEBHOOK_ALLOW_LOOPBACK: variables.WEBHOOK_ALLOW_LOOPBACK,
  });
}

function deliverConfig(env: Record<string, string | undefined>) {
  try {
    return loadDeliverConfig(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * A queue's URL from its ARN, as SQS itself gives it. Not derived from the ARN: aimed at an
 * emulator through AWS_ENDPOINT_URL_SQS, the SDK sends to the host a URL names.
 */
async function queueUrlOf(sqs: SQSClient, arn: string): Promise<string> {
  const [, , , , account, name] = arn.split(':');
  try {
    const out = await sqs.send(
      new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
    );
    if (out.QueueUrl !== undefined) return out.QueueUrl;
  } catch (error: unknown) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
  throw new CliError(`the queue ${name ?? arn} in WEBHOOKS does not exist: is WEBHOOKS current?`);
}

/** How many messages a queue holds, as SQS counts them (approximately). */
export interface QueueDepth {
  /** Ready to be received. */
  readonly visible: number;
  /** Received and not yet deleted: in a batch now, or held back for a retry or a send slot. */
  readonly hidden: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const count = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0);
  return {
    visible: count('ApproximateNumberOfMessages'),
    hidden:
      count('ApproximateNumberOfMessagesNotVisible') + count('ApproximateNumberOfMessagesDelayed'),
  };
}
