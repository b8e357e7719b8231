import { toUnixSeconds } from '../../lib/clock.js';
import { LeaseHeldError } from '../../lib/errors.js';
import { OperatorStore } from '../../lib/store/operator.js';
import { formIdFlag, instantFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { formatCount, formatDuration, formatTime } from '../format.js';
import { println } from '../io.js';

export const resetCommand: Command = {
  name: 'reset',
  summary: "move a form's cursor: the only way to move it back",
  targeted: true,
  options: {
    ...TARGET_OPTIONS,
    form: { type: 'string' },
    to: { type: 'string' },
    yes: { type: 'boolean' },
  },
  help: `Usage: weiban-forms reset --form ID --to T [--yes] [target]

Moves the form's cursor to T and drops any unfinished window. The next run reads Weiban from
T on: submitters never recorded are published, those already recorded are not sent again
(use replay for that). Neither a redeploy nor START_FROM can do this; only this command.
It asks for confirmation; --yes answers it for scripts. Without a terminal, --yes is needed.

  --form ID   the form
  --to T      the new cursor (unix seconds, ISO-8601, or "now"); not in the future
  --yes       do not ask

${TARGET_HELP}

Example: weiban-forms reset --stage prod --form 842 --to 2026-11-20T00:00:00+08:00`,
  run: reset,
};

async function reset(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const formId = formIdFlag(ctx.string('form'));
  const toRaw = ctx.string('to');
  if (toRaw === undefined) throw new UsageError('reset needs --to T: the new cursor');
  const nowMs = io.clock.now();
  const to = instantFlag(toRaw, '--to', nowMs);
  if (to > toUnixSeconds(nowMs)) {
    throw new UsageError(`--to ${formatTime(to)} is in the future; a cursor can be at most now`);
  }
  const target = await ctx.target();
  const operator = new OperatorStore({ client: ctx.clients().dynamo, tableName: target.tableName });
  const state = await operator.form(formId);

  println(io.stdout, `${target.label}, form ${formId}:`);
  if (state === undefined) {
    println(io.stdout, `  no state yet; its first run will read from ${formatTime(to)}.`);
  } else {
    const shift = state.cursor - to;
    const direction =
      shift > 0
        ? `back ${formatDuration(shift)}`
        : shift < 0
          ? `forward ${formatDuration(-shift)}`
          : 'unchanged';
    println(io.stdout, `  cursor ${formatTime(state.cursor)} → ${formatTime(to)} (${direction})`);
    if (state.continuation !== undefined) {
      println(
        io.stdout,
        `  its unfinished window (at row ${formatCount(state.continuation.offset)}) is dropped`,
      );
    }
    if (shift > 0) {
      println(
        io.stdout,
        '  the next run reads that stretch again: submitters never recorded are published, recorded ones are not sent again',
      );
    } else if (shift < 0) {
      println(
        io.stdout,
        `  submitters from ${formatTime(state.cursor)} to ${formatTime(to)} will never be read`,
      );
    }
  }

  if (!ctx.flag('yes')) {
    if (io.ask === undefined) {
      throw new UsageError(
        `reset changes where form ${formId} reads from and needs confirmation: run it in a terminal, or pass --yes`,
      );
    }
    const answer = await io.ask(`Move the cursor of form ${formId} to ${formatTime(to)}? [y/N] `);
    if (!/^(y|yes)$/i.test(answer.trim())) {
      println(io.stdout, 'Nothing changed.');
      return 1;
    }
  }

  try {
    await operator.reset(formId, to, io.clock.now());
  } catch (error: unknown) {
    if (error instanceof LeaseHeldError) {
      throw new CliError(
        `form ${formId} is being polled right now; nothing changed. Try again in a minute.`,
      );
    }
    throw error;
  }
  println(
    io.stdout,
    `Form ${formId}: the cursor is now ${formatTime(to)}; the next run reads from there.`,
  );
  return 0;
}
