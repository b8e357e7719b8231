import { toUnixSeconds } from '../../lib/clock.js';
import { formEventSchema, messageAttributes, type FormEvent } from '../../lib/events.js';
import type { Window } from '../../lib/model.js';
import type { OutgoingMessage, SubmitterRecord } from '../../lib/ports.js';
import { SnsPublisher } from '../../lib/publish/sns.js';
import { OperatorStore } from '../../lib/store/operator.js';
import { chunk } from '../../lib/store/retry.js';
import { formIdFlag, instantFlag, integerFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { CliError, INTERRUPTED_EXIT, UsageError } from '../errors.js';
import { eventLine, formatCount, formatElapsed, formatRate, formatTime } from '../format.js';
import { println } from '../io.js';
import { progress } from '../progress.js';
import { requireTopic } from '../target.js';

// Messages handed to the publisher at once: it sends them as PublishBatch calls of 10.
const PUBLISH_CHUNK = 100;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'republish recorded submitters with their original event body and id',
  targeted: true,
  options: {
    ...TARGET_OPTIONS,
    form: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    'u-id': { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  help: `Usage: weiban-forms replay --form ID (--since T [--until T] | --u-id N) [--dry-run] [target]

Republishes submitters recorded in the table, with the event body and id first published,
and the same message attributes, so subscribers' filters and dedupe work as before.
Nothing is read from Weiban: use backfill for submitters that were never recorded.

  --form ID      the form
  --since T      submitted at or after T (unix seconds, ISO-8601, or "now")
  --until T      submitted at or before T (default: now)
  --u-id N       one submitter instead of a time range
  --dry-run      list what would be republished; publish nothing

${TARGET_HELP}

Example: weiban-forms replay --stage prod --form 842 --since 2026-11-24T00:00:00+08:00 --until 2026-11-25T00:00:00+08:00`,
  run: replay,
};

async function replay(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const formId = formIdFlag(ctx.string('form'));
  const selection = select(ctx);
  const dryRun = ctx.flag('dry-run');
  const target = await ctx.target();
  const topicArn = dryRun ? target.topicArn : requireTopic(target, 'replay');
  const { dynamo, sns } = ctx.clients();
  const operator = new OperatorStore({ client: dynamo, tableName: target.tableName });

  let total: number;
  let pages: AsyncIterable<SubmitterRecord[]> | Iterable<SubmitterRecord[]>;
  let what: string;
  if (selection.kind === 'one') {
    const record = await operator.record(formId, selection.uId);
    if (record === undefined) {
      throw new CliError(
        `form ${formId} has no recorded submitter with u_id ${selection.uId} in ${target.label}`,
      );
    }
    [total, pages, what] = [1, [[record]], `u_id ${selection.uId} of form ${formId}`];
  } else {
    const { window } = selection;
    total = await operator.recordedCountBySubmitAt(formId, window);
    pages = operator.recordsBySubmitAt(formId, window);
    what = `form ${formId} submitted ${formatTime(window.start)} … ${formatTime(window.end)}`;
  }
  if (total === 0) {
    println(io.stdout, `Nothing to replay: no recorded submitter of ${what}.`);
    return 0;
  }
  if (dryRun) {
    println(
      io.stdout,
      `Dry run: ${formatCount(total)} event(s) of ${what} would be republished to ${topicArn ?? 'the topic'}:`,
    );
  } else {
    println(io.stdout, `Replaying ${formatCount(total)} event(s) of ${what} to ${topicArn}`);
  }

  const publisher =
    dryRun || topicArn === undefined ? undefined : new SnsPublisher({ client: sns, topicArn });
  const bar = progress(io.stdout, `replay form ${formId}`, 'events', () => io.clock.now());
  const started = io.clock.now();
  const failures: { id: string; reason: string }[] = [];
  let [listed, published, unreadable] = [0, 0, 0];
  const aborted = () => io.signal?.aborted === true;

  for await (const page of pages) {
    if (aborted()) break;
    const messages: OutgoingMessage[] = [];
    for (const record of page) {
      const stored = storedEvent(record);
      if (stored === undefined) {
        unreadable += 1;
        println(io.stderr, `warning: u_id ${record.uId}: the stored event is unreadable; skipped`);
      } else if (publisher === undefined) {
        println(io.stdout, eventLine(stored.event));
        listed += 1;
      } else messages.push(stored.message);
    }
    for (const group of chunk(messages, PUBLISH_CHUNK)) {
      if (aborted() || publisher === undefined) break;
      const result = await publisher.publish(group);
      published += result.published.length;
      failures.push(...result.failed);
      bar.update(
        published + failures.length + unreadable,
        total,
        `${formatCount(published)} published · ${formatCount(failures.length)} failed`,
      );
    }
  }
  bar.finish();

  const elapsed = io.clock.now() - started;
  if (dryRun) {
    println(
      io.stdout,
      `${formatCount(listed)} event(s) listed; nothing was published (--dry-run).`,
    );
  } else {
    println(
      io.stdout,
      `Replayed ${what}: ${formatCount(published)} published, ${formatCount(failures.length)} failed, in ${formatElapsed(elapsed)} (${formatRate(published, elapsed)}).`,
    );
  }
  for (const failure of failures.slice(0, 5)) {
    println(io.stderr, `failed: ${failure.id}: ${failure.reason}`);
  }
  if (failures.length > 5) println(io.stderr, `… and ${failures.length - 5} more failed.`);
  if (aborted() && listed + published + failures.length + unreadable < total) {
    println(io.stderr, 'Interrupted: the rest was not republished.');
    return INTERRUPTED_EXIT;
  }
  return failures.length > 0 || unreadable > 0 ? 1 : 0;
}

type Selection = { kind: 'one'; uId: number } | { kind: 'range'; window: Window };

function select(ctx: CommandContext): Selection {
  const uId = ctx.string('u-id');
  const since = ctx.string('since');
  const until = ctx.string('until');
  const nowMs = ctx.io.clock.now();
  if (uId !== undefined) {
    if (since !== undefined || until !== undefined) {
      throw new UsageError('use either --u-id or --since/--until, not both');
    }
    return {
      kind: 'one',
      uId: integerFlag(uId, '--u-id', { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    };
  }
  if (since === undefined) throw new UsageError('replay needs --since T [--until T], or --u-id N');
  const start = instantFlag(since, '--since', nowMs);
  const end = until === undefined ? toUnixSeconds(nowMs) : instantFlag(until, '--until', nowMs);
  if (start > end) throw new UsageError('--since must not be later than --until');
  return { kind: 'range', window: { start, end } };
}

/**
 * The event as first published: its body untouched, its attributes rebuilt from it
 * (docs/guarantees.md#event-attributes).
 */
function storedEvent(
  record: SubmitterRecord,
): { event: FormEvent; message: OutgoingMessage } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.event);
  } catch {
    return undefined;
  }
  const parsed = formEventSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  return {
    event,
    message: { id: event.id, body: record.event, attributes: messageAttributes(event) },
  };
}
