import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { inject } from 'vitest';
import type { CliIo } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import type { World } from '../../support/world.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Record<string, string | undefined>;
  /** The operator's answer to a prompt; without it the CLI runs as without a terminal. */
  readonly ask?: (question: string) => Promise<string>;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** Stdout is a terminal (a person watching), as for an operator at a shell. */
  readonly terminal?: boolean;
}

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** moto-backed clients, as the CLI builds them from AWS_ENDPOINT_URL_*. */
export function motoClients(): {
  ssm: SSMClient;
  cloudFormation: CloudFormationClient;
  lambda: LambdaClient;
} {
  const endpoint = inject('motoEndpoint');
  return {
    ssm: new SSMClient({ region, credentials, endpoint }),
    cloudFormation: new CloudFormationClient({ region, credentials, endpoint }),
    lambda: new LambdaClient({ region, credentials, endpoint }),
  };
}

/** Runs one `weiban-forms` command line in-process against the world's table, topic and clock. */
export async function cli(
  world: Pick<World, 'aws' | 'clock'>,
  argv: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    // The emulators' region, as a shell aimed at them would set it.
    env: { AWS_REGION: region, ...options.env },
    stdout: {
      write: (text: string) => {
        stdout += text;
        return true;
      },
      ...(options.terminal === true && { isTTY: true }),
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        return true;
      },
    },
    clients: () => {
      const { ssm, cloudFormation, lambda } = motoClients();
      return {
        dynamo: world.aws.doc,
        sns: world.aws.sns,
        sqs: world.aws.sqs,
        ssm,
        cloudFormation,
        lambda,
        destroy: () => {
          ssm.destroy();
          cloudFormation.destroy();
          lambda.destroy();
        },
      };
    },
    clock: world.clock,
    ...(options.ask !== undefined && { ask: options.ask }),
    ...(options.fetch !== undefined && { fetch: options.fetch }),
    ...(options.signal !== undefined && { signal: options.signal }),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** `--table … --topic …` for the world's deployment. */
export const targetOf = (world: World): string[] => [
  '--table',
  world.tableName,
  '--topic',
  world.topicArn,
];

/** The Weiban variables for the world's simulator. */
export const simulatorEnv = (world: World): Record<string, string> => ({
  WEIBAN_BASE_URL: world.simulator.url,
  WEIBAN_CORP_ID: 'sim-corp',
  WEIBAN_SECRET: 'sim-secret',
});
