import { toIso, toUnixSeconds } from '../../lib/clock.js';
import type { FormState } from '../../lib/model.js';
import { DynamoFormStateStore } from '../../lib/store/form-state.js';
import { DynamoCorpBudget } from '../../lib/store/corp-budget.js';
import { OperatorStore } from '../../lib/store/operator.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { formIdFlag } from '../args.js';
import { formatCount, formatDuration, formatTime, renderTable, truncate } from '../format.js';
import { println } from '../io.js';
import { budgetLines, budgetStatus } from '../budget.js';
import { subscriptionLines, topicSubscriptions } from '../subscriptions.js';

/** One form's status, as `--json` prints it. */
export interface FormStatus {
  readonly form_id: number;
  /** False for a form named with --form that has never been polled. */
  readonly started: boolean;
  readonly cursor: string | null;
  readonly cursor_unix: number | null;
  readonly lag_seconds: number | null;
  readonly recorded: number;
  readonly last_ok_at: string | null;
  readonly continuation: {
    readonly start: string;
    readonly end: string;
    readonly offset: number;
    readonly total: number | null;
  } | null;
  readonly start_mode: 'now' | 'time' | null;
  readonly origin: string | null;
  readonly polling_until: string | null;
  readonly last_error: {
    readonly name: string;
    readonly message: string;
    readonly errcode: number | null;
    readonly at: string;
  } | null;
}

export const statusCommand: Command = {
  name: 'status',
  summary:
    'every form: cursor, lag, submitters recorded, last run, continuation, errors; where events go',
  targeted: true,
  options: { ...TARGET_OPTIONS, form: { type: 'string' }, json: { type: 'boolean' } },
  help: `Usage: weiban-forms status [--form ID[,ID…]] [--json] [target]

Shows every form that has state in the table (or only those given with --form):
its cursor, how far it lags behind now, the submitters recorded, the last successful run,
any unfinished window (continuation), the start mode and the last error. Above them,
the events topic's subscriptions by protocol, with those still pending confirmation, or a
warning when there are none and events reach nobody.

  --form IDS   only these forms (comma-separated); skips the scan for forms on a big table
  --json       machine-readable output

${TARGET_HELP}

Example: weiban-forms status --stage prod`,
  run: status,
};

async function status(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const only = ctx
    .string('form')
    ?.split(',')
    .map((part) => formIdFlag(part, '--form'));
  const target = await ctx.target();
  const { dynamo, sns } = ctx.clients();
  const forms = new DynamoFormStateStore({ client: dynamo, tableName: target.tableName });
  const operator = new OperatorStore({ client: dynamo, tableName: target.tableName });
  const entries =
    only === undefined
      ? (await operator.forms()).map((state) => ({ formId: state.formId, state }))
      : await forms
          .read(only, false)
          .then((read) => read.states)
          .then((found) => only.map((formId) => ({ formId, state: found.get(formId) })));
  const nowMs = io.clock.now();
  const subscriptions =
    target.topicArn === undefined
      ? null
      : await topicSubscriptions(sns, target.topicArn, io.signal);
  const budget =
    target.corpId === undefined
      ? null
      : budgetStatus(
          await new DynamoCorpBudget({
            client: dynamo,
            tableName: target.tableName,
            corpId: target.corpId,
          }).read(),
          nowMs,
        );
  const rows = await Promise.all(
    entries.map(async ({ formId, state }) => {
      const recorded = await operator.recordedCount(formId);
      return state === undefined ? notStarted(formId, recorded) : statusOf(state, recorded, nowMs);
    }),
  );

  if (ctx.flag('json')) {
    println(
      io.stdout,
      JSON.stringify(
        {
          target: target.label,
          table: target.tableName,
          checked_at: iso(nowMs),
          subscriptions,
          budget,
          forms: rows,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  println(io.stdout, `${target.label} · ${formatTime(toUnixSeconds(nowMs))}`);
  for (const line of subscriptions === null
    ? ['Subscriptions: not checked (give --topic ARN or --stage STAGE to see where events go).']
    : subscriptionLines(subscriptions)) {
    println(io.stdout, line);
  }
  for (const line of budget === null
    ? ['Weiban budget: not checked (set WEIBAN_CORP_ID, or give --stage STAGE).']
    : budgetLines(budget, nowMs)) {
    println(io.stdout, line);
  }
  if (rows.length === 0) {
    println(
      io.stdout,
      'No form has state yet: the poller creates it on its first run (see FORM_IDS and START_FROM).',
    );
    return 0;
  }
  println(io.stdout);
  println(
    io.stdout,
    renderTable(
      ['FORM', 'CURSOR', 'LAG', 'RECORDED', 'LAST OK', 'CONTINUATION', 'START', 'LAST ERROR'],
      rows.map((row) => tableRow(row, nowMs)),
    ),
  );
  return 0;
}

function statusOf(state: FormState, recorded: number, nowMs: number): FormStatus {
  const nowS = toUnixSeconds(nowMs);
  const { continuation, lastError, lease } = state;
  return {
    form_id: state.formId,
    started: true,
    cursor: iso(state.cursor * 1000),
    cursor_unix: state.cursor,
    lag_seconds: Math.max(0, nowS - state.cursor),
    recorded,
    last_ok_at: state.lastOkAt === undefined ? null : iso(state.lastOkAt),
    continuation:
      continuation === undefined
        ? null
        : {
            start: iso(continuation.start * 1000),
            end: iso(continuation.end * 1000),
            offset: continuation.offset,
            total: continuation.total ?? null,
          },
    start_mode: state.startMode,
    origin: iso(state.origin * 1000),
    polling_until: lease !== undefined && lease.until > nowMs ? iso(lease.until) : null,
    last_error:
      lastError === undefined
        ? null
        : {
            name: lastError.name,
            message: lastError.message,
            errcode: lastError.errcode ?? null,
            at: iso(lastError.at),
          },
  };
}

function notStarted(formId: number, recorded: number): FormStatus {
  return {
    form_id: formId,
    started: false,
    cursor: null,
    cursor_unix: null,
    lag_seconds: null,
    recorded,
    last_ok_at: null,
    continuation: null,
    start_mode: null,
    origin: null,
    polling_until: null,
    last_error: null,
  };
}

function tableRow(row: FormStatus, nowMs: number): string[] {
  if (!row.started) {
    return [String(row.form_id), 'not started', '—', formatCount(row.recorded), '—', '—', '—', '—'];
  }
  const ago = (at: string) => `${formatDuration((nowMs - Date.parse(at)) / 1000)} ago`;
  const { continuation, last_error: error } = row;
  return [
    String(row.form_id),
    row.cursor_unix === null ? '—' : formatTime(row.cursor_unix),
    row.lag_seconds === null ? '—' : formatDuration(row.lag_seconds),
    formatCount(row.recorded),
    row.last_ok_at === null ? 'never' : ago(row.last_ok_at),
    continuation === null
      ? '—'
      : `offset ${formatCount(continuation.offset)}${continuation.total === null ? '' : `/${formatCount(continuation.total)}`}`,
    row.start_mode ?? '—',
    error === null ? '—' : truncate(`${ago(error.at)}: ${error.message}`, 72),
  ];
}

const iso = (ms: number): string => toIso(toUnixSeconds(ms));
