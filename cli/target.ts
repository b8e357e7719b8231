import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CliError, UsageError } from './errors.js';

/** Which deployment a command works on: flags or env, or a stage's stack outputs. */
export interface TargetFlags {
  readonly stage?: string | undefined;
  readonly table?: string | undefined;
  readonly topic?: string | undefined;
}

/** The AWS region a command uses, and how it was chosen (its header line says so). */
export interface RegionChoice {
  readonly region: string | undefined;
  /** Undefined when nothing chose one and the SDK's own chain (a profile's region) decides. */
  readonly from: '--region' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'serverless.yml' | undefined;
}

/**
 * The region: `--region`, else AWS_REGION, else AWS_DEFAULT_REGION, else with `--stage` the
 * region serverless.yml deploys that stage to (`stageRegion`), else the SDK's own choice.
 */
export function resolveRegion(
  flags: { readonly region?: string | undefined; readonly stage?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  stageRegion: (stage: string) => string | undefined,
): RegionChoice {
  const flag = nonBlank(flags.region);
  if (flag !== undefined) return { region: flag, from: '--region' };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = nonBlank(env[name]);
    if (value !== undefined) return { region: value, from: name };
  }
  const fromFile = flags.stage === undefined ? undefined : stageRegion(flags.stage);
  return fromFile === undefined
    ? { region: undefined, from: undefined }
    : { region: fromFile, from: 'serverless.yml' };
}

export interface Target {
  readonly tableName: string;
  readonly topicArn: string | undefined;
  /** For headers: `stack weiban-forms-prod (ap-northeast-1)` or `table weiban-forms-local`. */
  readonly label: string;
  /** With `--stage`: the stack, and every output it has (the webhook commands read `Webhooks`). */
  readonly stack?: { readonly name: string; readonly outputs: ReadonlyMap<string, string> };
  /** The corp the deployment polls: the stack's WeibanCorpId output, or WEIBAN_CORP_ID. */
  readonly corpId?: string;
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
  region?: RegionChoice,
): Promise<Target> {
  if (flags.stage !== undefined) {
    if (flags.table !== undefined || flags.topic !== undefined) {
      throw new UsageError('use either --stage or --table/--topic, not both');
    }
    return fromStack(flags.stage, cloudFormation(), region?.from === 'serverless.yml');
  }
  const tableName = flags.table ?? nonBlank(env.TABLE_NAME);
  if (tableName === undefined) {
    throw new UsageError(
      'say which deployment: --stage STAGE (the stack weiban-forms-STAGE), or --table NAME and --topic ARN (or TABLE_NAME and TOPIC_ARN)',
    );
  }
  const corpId = nonBlank(env.WEIBAN_CORP_ID);
  return {
    tableName,
    topicArn: flags.topic ?? nonBlank(env.TOPIC_ARN),
    label: `table ${tableName}`,
    ...(corpId !== undefined && { corpId }),
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

async function fromStack(
  stage: string,
  cloudFormation: CloudFormationClient,
  regionFromFile: boolean,
): Promise<Target> {
  if (!/^[A-Za-z0-9-]+$/.test(stage)) {
    throw new UsageError(`--stage must be letters, digits and dashes; got "${stage}"`);
  }
  const name = stackName(stage);
  const region = await cloudFormation.config.region();
  const where = regionFromFile ? `${region} (the stage's region in serverless.yml)` : region;
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
      throw new CliError(`stack ${name} does not exist in ${where}: check --stage and --region`);
    }
    throw error;
  }
  const tableName = outputs.get('FormsTableName');
  const topicArn = outputs.get('EventsTopicArn');
  if (tableName === undefined || topicArn === undefined) {
    throw new CliError(
      `stack ${name} in ${where} has no FormsTableName/EventsTopicArn outputs: is it a weiban-forms stack that finished deploying?`,
    );
  }
  const label = regionFromFile
    ? `stack ${name} (${region}, the stage's region in serverless.yml)`
    : `stack ${name} (${region})`;
  const corpId = outputs.get('WeibanCorpId');
  return {
    tableName,
    topicArn,
    label,
    stack: { name, outputs },
    ...(corpId !== undefined && { corpId }),
  };
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
