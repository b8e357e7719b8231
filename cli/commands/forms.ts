import { chunk } from '../../lib/store/retry.js';
import { OperatorStore } from '../../lib/store/operator.js';
import type { FormList } from '../../lib/model.js';
import { formIdFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { UsageError } from '../errors.js';
import { formatCount, formatTime } from '../format.js';
import { println } from '../io.js';

// Each change names its forms in one DynamoDB expression: 50 keeps it well under 4 KB.
const FORMS_PER_CHANGE = 50;

const FORMS_HELP = `The poller polls the forms in the table's form list. FORM_IDS (the stage's formIds param)
seeds the list with forms it has neither listed nor had removed; these commands change it with
no deploy. The poller reads the list with its states, or on its own once it is a minute old,
so a change takes effect within two runs, three at most.`;

export const formsListCommand: Command = {
  name: 'forms list',
  summary: 'the forms the poller polls, and those removed',
  targeted: true,
  options: { ...TARGET_OPTIONS },
  help: `Usage: weiban-forms forms list [target]

${FORMS_HELP}

${TARGET_HELP}`,
  run: async (ctx) => {
    const { operator, label } = await store(ctx);
    printList(ctx, label, await operator.formList());
    return 0;
  },
};

export const formsAddCommand: Command = {
  name: 'forms add',
  summary: 'start polling forms, with no deploy',
  targeted: true,
  options: { ...TARGET_OPTIONS, form: { type: 'string' } },
  help: `Usage: weiban-forms forms add --form ID[,ID…] [target]

Adds forms to the list. A form that has been polled before (and removed) resumes from its
cursor; it never publishes its history again. A new form starts as START_FROM says.

${FORMS_HELP}

  --form ID[,ID…]   the forms, comma-separated

${TARGET_HELP}

Example: weiban-forms forms add --stage prod --form 842,901`,
  run: async (ctx) => change(ctx, 'add'),
};

export const formsRemoveCommand: Command = {
  name: 'forms remove',
  summary: 'stop polling forms; their cursor and records stay',
  targeted: true,
  options: { ...TARGET_OPTIONS, form: { type: 'string' } },
  help: `Usage: weiban-forms forms remove --form ID[,ID…] [target]

Takes forms off the list: the poller stops reading them from its next run. Their cursor and
dedupe records stay, and FORM_IDS never adds them back; forms add does, from that cursor.

${FORMS_HELP}

  --form ID[,ID…]   the forms, comma-separated

${TARGET_HELP}

Example: weiban-forms forms remove --stage prod --form 901`,
  run: async (ctx) => change(ctx, 'remove'),
};

async function store(ctx: CommandContext) {
  const target = await ctx.target();
  return {
    operator: new OperatorStore({ client: ctx.clients().dynamo, tableName: target.tableName }),
    label: target.label,
  };
}

async function change(ctx: CommandContext, action: 'add' | 'remove'): Promise<number> {
  const raw = ctx.string('form');
  if (raw === undefined) throw new UsageError(`forms ${action} needs --form ID[,ID…]`);
  const formIds = [...new Set(raw.split(',').map((part) => formIdFlag(part)))];
  const { operator, label } = await store(ctx);
  const now = ctx.io.clock.now();
  let list: FormList | undefined;
  for (const group of chunk(formIds, FORMS_PER_CHANGE)) {
    list =
      action === 'add'
        ? await operator.addForms(group, now)
        : await operator.removeForms(group, now);
  }
  // The poller reads the list along with the states of a run: the run after acts on it.
  const done =
    action === 'add'
      ? 'Added %s. The poller starts on it within three runs.'
      : 'Removed %s. The poller stops within three runs.';
  println(
    ctx.io.stdout,
    done.replace('%s', `${formatCount(formIds.length)} form(s): ${formIds.join(', ')}`),
  );
  if (list !== undefined) printList(ctx, label, list);
  return 0;
}

function printList(ctx: CommandContext, label: string, list: FormList): void {
  const { stdout } = ctx.io;
  println(
    stdout,
    `${label} · ${formatCount(list.formIds.length)} form(s) polled, ${formatCount(list.removed.size)} removed`,
  );
  if (list.formIds.length === 0) {
    println(
      stdout,
      'No forms are polled: add some with "weiban-forms forms add --form ID", or set the formIds param.',
    );
  } else println(stdout, `polled   ${list.formIds.join(', ')}`);
  const removed = [...list.removed].sort((a, b) => a[0] - b[0]);
  for (const [formId, at] of removed) {
    println(stdout, `removed  ${formId} (${formatTime(Math.floor(at / 1000))})`);
  }
}
