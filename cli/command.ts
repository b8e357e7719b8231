import type { ParseArgsConfig } from 'node:util';
import type { CliClients } from './clients.js';
import type { CliIo } from './io.js';
import type { RegionChoice, Target } from './target.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command gets: its parsed flags, the io, and lazily built clients and target. */
export interface CommandContext {
  readonly io: CliIo;
  /** The AWS region the clients use, and how it was chosen. */
  readonly region: RegionChoice;
  /** A string flag's value. */
  string(name: string): string | undefined;
  /** Whether a boolean flag was given. */
  flag(name: string): boolean;
  /** AWS clients for `--region`, built on first use. */
  clients(): CliClients;
  /** The deployment from `--stage` or `--table`/`--topic`, resolved on first use. */
  target(): Promise<Target>;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The command's help: usage, options, an example. */
  readonly help: string;
  readonly options: Options;
  /** Whether `--stage`/`--table`/`--topic`/`--region` apply. */
  readonly targeted: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** Flags every targeted command takes. */
export const TARGET_OPTIONS: Options = {
  stage: { type: 'string' },
  region: { type: 'string' },
  table: { type: 'string' },
  topic: { type: 'string' },
};

export const TARGET_HELP = `Target:
  --stage STAGE     the deployed stack weiban-forms-STAGE (table and topic from its outputs)
  --region REGION   its AWS region (default: AWS_REGION or AWS_DEFAULT_REGION, else with
                    --stage the stage's region in serverless.yml, else the SDK's)
  --table NAME      a table by name instead (default: $TABLE_NAME)
  --topic ARN       a topic by ARN instead (default: $TOPIC_ARN)`;
