import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { systemClock } from '../lib/clock.js';
import { awsClients, type CliClients } from './clients.js';
import type { Command, CommandContext } from './command.js';
import { backfillCommand } from './commands/backfill.js';
import { formsAddCommand, formsListCommand, formsRemoveCommand } from './commands/forms.js';
import { probeCommand } from './commands/probe.js';
import { replayCommand } from './commands/replay.js';
import { resetCommand } from './commands/reset.js';
import { statusCommand } from './commands/status.js';
import { tokenCheckCommand } from './commands/token-check.js';
import { WEBHOOK_COMMANDS } from './commands/webhooks.js';
import { explain, INTERRUPTED_EXIT, UsageError } from './errors.js';
import { println, type CliIo } from './io.js';
import { stageRegion } from './serverless-yml.js';
import { resolveRegion, resolveTarget, type Target } from './target.js';

const COMMANDS: readonly Command[] = [
  statusCommand,
  formsListCommand,
  formsAddCommand,
  formsRemoveCommand,
  replayCommand,
  backfillCommand,
  resetCommand,
  tokenCheckCommand,
  probeCommand,
  ...WEBHOOK_COMMANDS,
];

const NAME_WIDTH = Math.max(...COMMANDS.map((command) => command.name.length)) + 1;

const HELP = `weiban-forms: look after the Weiban form poller

Usage: weiban-forms <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(NAME_WIDTH)} ${command.summary}`).join('\n')}

Every command but token-check works on one deployment (the webhooks commands: see their --help):
  --stage STAGE [--region REGION]   the deployed stack weiban-forms-STAGE; without --region,
                                    AWS_REGION or AWS_DEFAULT_REGION, the stage's region
                                    in serverless.yml
  --table NAME --topic ARN          a table and topic by name (or TABLE_NAME, TOPIC_ARN);
                                    AWS_ENDPOINT_URL_DYNAMODB/_SNS aim them at local emulators

Times are unix seconds, ISO-8601 (2026-11-01T00:00:00+08:00) or "now".
Run "weiban-forms <command> --help" for a command's options.`;

/** Runs one command line; resolves the exit code. Never throws: failures print one sentence. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, sub] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    println(name === undefined ? io.stderr : io.stdout, HELP);
    return name === undefined ? 2 : 0;
  }
  // A command's name may be two words: `forms add`, `webhooks log`.
  const command =
    COMMANDS.find((candidate) => candidate.name === `${name} ${sub ?? ''}`) ??
    COMMANDS.find((candidate) => candidate.name === name);
  const rest = argv.slice(command?.name.includes(' ') === true ? 2 : 1);
  if (command === undefined) {
    println(io.stderr, `error: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  let clients: CliClients | undefined;
  try {
    const values = parse(command, rest);
    if (values.help === true) {
      println(io.stdout, command.help);
      return 0;
    }
    const region = resolveRegion(
      {
        region: typeof values.region === 'string' ? values.region : undefined,
        stage: typeof values.stage === 'string' ? values.stage : undefined,
      },
      io.env,
      (stage) => stageRegion(stage),
    );
    let target: Promise<Target> | undefined;
    const ctx: CommandContext = {
      io,
      region,
      string: (key) => {
        const value = values[key];
        return typeof value === 'string' ? value : undefined;
      },
      flag: (key) => values[key] === true,
      clients: () => (clients ??= io.clients(region.region)),
      target: () =>
        (target ??= resolveTarget(
          {
            stage: ctx.string('stage'),
            table: ctx.string('table'),
            topic: ctx.string('topic'),
          },
          io.env,
          () => ctx.clients().cloudFormation,
          region,
        )),
    };
    return await command.run(ctx);
  } catch (error: unknown) {
    if (io.signal?.aborted === true) {
      println(io.stderr, 'Interrupted.');
      return INTERRUPTED_EXIT;
    }
    println(io.stderr, `error: ${explain(error)}`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    clients?.destroy();
  }
}

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

function parse(command: Command, args: readonly string[]): Values {
  try {
    return parseArgs({
      args: [...args],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error: unknown) {
    const reason = error instanceof Error ? (error.message.split('. ')[0] ?? '') : '';
    throw new UsageError(`${reason} (see weiban-forms ${command.name} --help)`);
  }
}

/** The real process: its env and streams, a prompt on a terminal, Ctrl-C to stop cleanly. */
export async function runFromProcess(): Promise<void> {
  // package.json supports Node 20.19+; the SDK's notice about its future needs says nothing here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(INTERRUPTED_EXIT);
    interrupt.abort(new DOMException('interrupted', 'AbortError'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const interactive = process.stdin.isTTY && process.stdout.isTTY;
  const io: CliIo = {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    clients: awsClients,
    clock: systemClock,
    signal: interrupt.signal,
    ...(interactive && {
      ask: async (question: string) => {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        try {
          return await rl.question(question, { signal: interrupt.signal });
        } finally {
          rl.close();
        }
      },
    }),
  };
  process.exitCode = await main(process.argv.slice(2), io);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
