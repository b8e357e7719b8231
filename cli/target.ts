import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CliError, UsageError } from './errors.js';

/** Which deployment a command works on: flags or env, or a stage's stack outputs. */
export interface TargetFlags {
  readonly stage?: string | undefined;
  readonly table?: string | undefined;
  readonly topic?: string | undefined;
}

export interface Target {
  readonly tableName: string;
  readonly topicArn: string | undefined;
  /** For headers: `stack weiban-forms-prod (ap-northeast-1)` or `table weiban-forms-local`. */
  readonly label: string;
}

// serverless.yml: `service: weiban-forms`; each stage deploys the stack <service>-<stage>.
export const stackName = (stage: string): string => `weiban-forms-${stage}`;

/**
 * The table and topic to use: `--stage` reads them from the stack's outputs (FormsTableName,
 * EventsTopicArn); otherwise `--table`/`--topic`, falling back to TABLE_NAME/TOPIC_ARN.
 */
export async function resolveTarget(
  flags: TargetFlags,
  env: Readonly<Record<string, string | undefined>>,
  cloudFormation: () => CloudFormationClient,
): Promise<Target> {
  if (flags.stage !== undefined) {
    if (flags.table !== undefined || flags.topic !== undefined) {
      throw new UsageError('use either --stage or --table/--topic, not both');
    }
    return fromStack(flags.stage, cloudFormation());
  }
  const tableName = flags.table ?? nonBlank(env.TABLE_NAME);
  if (tableName === undefined) {
    throw new UsageError(
      'say which deployment: --stage STAGE (the stack weiban-forms-STAGE), or --table NAME and --topic ARN (or TABLE_NAME and TOPIC_ARN)',
    );
  }
  return {
    tableName,
    topicArn: flags.topic ?? nonBlank(env.TOPIC_ARN),
    label: `table ${tableName}`,
  };
}

/** The topic, for commands that publish. */
export function requireTopic(target: Target, command: string): string {
  if (target.topicArn === undefined) {
    throw new UsageError(
      `${command} publishes to the events topic: pass --topic ARN or --stage STAGE, or set TOPIC_ARN`,
    );
  }
  return target.topicArn;
}

async function fromStack(stage: string, cloudFormation: CloudFormationClient): Promise<Target> {
  if (!/^[A-Za-z0-9-]+$/.test(stage)) {
    throw new UsageError(`--stage must be letters, digits and dashes; got "${stage}"`);
  }
  const name = stackName(stage);
  const region = await cloudFormation.config.region();
  let outputs: Map<string, string>;
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    outputs = new Map(
      (out.Stacks?.[0]?.Outputs ?? []).flatMap((output) =>
        output.OutputKey !== undefined && output.OutputValue !== undefined
          ? [[output.OutputKey, output.OutputValue] as const]
          : [],
      ),
    );
  } catch (error: unknown) {
    if (error instanceof Error && /does not exist/.test(error.message)) {
      throw new CliError(`stack ${name} does not exist in ${region}: check --stage and --region`);
    }
    throw error;
  }
  const tableName = outputs.get('FormsTableName');
  const topicArn = outputs.get('EventsTopicArn');
  if (tableName === undefined || topicArn === undefined) {
    throw new CliError(
      `stack ${name} in ${region} has no FormsTableName/EventsTopicArn outputs: is it a weiban-forms stack that finished deploying?`,
    );
  }
  return { tableName, topicArn, label: `stack ${name} (${region})` };
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * The environment for Weiban credentials: with `--stage` and no secret variable set, the
 * secret is the stage's SSM parameter, named as serverless.yml's `weibanSecretParam` default.
 */
export function withStageSecret(
  env: Readonly<Record<string, string | undefined>>,
  stage: string | undefined,
): Readonly<Record<string, string | undefined>> {
  const hasSecret = [env.WEIBAN_SECRET, env.WEIBAN_SECRET_PARAM].some(
    (value) => value !== undefined && value.trim() !== '',
  );
  if (stage === undefined || hasSecret) return env;
  return { ...env, WEIBAN_SECRET_PARAM: `/weiban-forms/${stage}/weiban-secret` };
}
