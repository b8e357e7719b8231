import { toUnixSeconds } from '../../lib/clock.js';
import { HARD_MAX_IN_FLIGHT, HARD_MAX_PER_MINUTE, loadBackfillConfig } from '../../lib/config.js';
import { isAbort } from '../../lib/errors.js';
import { SnsPublisher } from '../../lib/publish/sns.js';
import { createWeiban } from '../../lib/service.js';
import {
  DynamoBackfillProgress,
  type BackfillProgress,
} from '../../lib/store/backfill-progress.js';
import { DynamoSubmitterLedger } from '../../lib/store/ledger.js';
import { formIdFlag, instantFlag, integerFlag } from '../args.js';
import { backfill } from '../backfill.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { CliError, explain, INTERRUPTED_EXIT, UsageError } from '../errors.js';
import { formatCount, formatDuration, formatElapsed, formatTime } from '../format.js';
import { println } from '../io.js';
import { progress } from '../progress.js';
import { requireTopic, withStageSecret } from '../target.js';

// Conservative: the deployed poller keeps polling the same corp meanwhile, and Weiban's
// limits (4 in flight, 600 a minute per endpoint) are shared by both (docs/guarantees.md#g4).
const DEFAULT_IN_FLIGHT = 2;
const DEFAULT_PER_MINUTE = 200;

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'read Weiban for a time range and publish the submitters not yet recorded',
  targeted: true,
  options: {
    ...TARGET_OPTIONS,
    form: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    'page-size': { type: 'string' },
    'max-in-flight': { type: 'string' },
    'max-per-minute': { type: 'string' },
    restart: { type: 'boolean' },
  },
  help: `Usage: weiban-forms backfill --form ID --since T [--until T] [options] [target]

Reads the form's submitters from Weiban for a time range, publishes those not yet recorded
(with the ids the poller would have given them) and records them. The cursor is not moved.
Progress is saved after every page: if it stops (Ctrl-C, an error), run the same command
again and it resumes where it stopped; submitters already recorded are never sent twice.

  --form ID              the form
  --since T              submitted at or after T (unix seconds, ISO-8601, or "now")
  --until T              submitted at or before T (default: now, fixed when it starts)
  --page-size N          rows per Weiban request (default: PAGE_SIZE or 100)
  --max-in-flight N      Weiban requests at once, 1-${HARD_MAX_IN_FLIGHT} (default ${DEFAULT_IN_FLIGHT})
  --max-per-minute N     the corp's Weiban requests a minute, the poller's included, 1-${HARD_MAX_PER_MINUTE}
                         (default ${DEFAULT_PER_MINUTE}); a busy poller can use more than that, so give
                         WEIBAN_MAX_PER_MINUTE for a backfill beside it
  --restart              ignore an unfinished backfill of this form and start over

Weiban credentials: WEIBAN_CORP_ID, and WEIBAN_SECRET or WEIBAN_SECRET_PARAM (with --stage,
the default is the stage's parameter /weiban-forms/STAGE/weiban-secret). WEIBAN_BASE_URL,
ANSWER_FORM_IDS and EMIT_RESUBMISSIONS apply as they do to the poller.

${TARGET_HELP}

Example: weiban-forms backfill --stage prod --form 842 --since 2026-11-01T00:00:00+08:00`,
  run: runBackfill,
};

async function runBackfill(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const formId = formIdFlag(ctx.string('form'));
  const nowMs = io.clock.now();
  const sinceRaw = ctx.string('since');
  if (sinceRaw === undefined) throw new UsageError('backfill needs --since T [--until T]');
  const untilRaw = ctx.string('until');
  const window = {
    start: instantFlag(sinceRaw, '--since', nowMs),
    end: untilRaw === undefined ? toUnixSeconds(nowMs) : instantFlag(untilRaw, '--until', nowMs),
  };
  if (window.start > window.end) throw new UsageError('--since must not be later than --until');
  const maxInFlight = integerFlag(ctx.string('max-in-flight'), '--max-in-flight', {
    min: 1,
    max: HARD_MAX_IN_FLIGHT,
    fallback: DEFAULT_IN_FLIGHT,
  });
  const maxPerMinute = integerFlag(ctx.string('max-per-minute'), '--max-per-minute', {
    min: 1,
    max: HARD_MAX_PER_MINUTE,
    fallback: DEFAULT_PER_MINUTE,
  });
  const pageSizeRaw = ctx.string('page-size');
  const pageSize =
    pageSizeRaw === undefined
      ? undefined
      : integerFlag(pageSizeRaw, '--page-size', { min: 1, max: 1000, fallback: 100 });

  const target = await ctx.target();
  const topicArn = requireTopic(target, 'backfill');
  const env = withStageSecret(io.env, ctx.string('stage'));
  const config = loadBackfillConfig({
    ...env,
    ...(pageSize !== undefined && { PAGE_SIZE: String(pageSize) }),
    WEIBAN_MAX_IN_FLIGHT: String(maxInFlight),
    WEIBAN_MAX_PER_MINUTE: String(maxPerMinute),
  });
  const { dynamo, sns, ssm } = ctx.clients();
  // The corp's Weiban budget is shared with the deployed poller through the table (docs/guarantees.md#g4).
  const weiban = createWeiban({
    config,
    tableName: target.tableName,
    clients: { dynamo, ssm },
    label: 'backfill',
    clock: io.clock,
    ...(io.fetch !== undefined && { fetch: io.fetch }),
  });
  const ledger = new DynamoSubmitterLedger({
    client: dynamo,
    tableName: target.tableName,
    retentionDays: config.retentionDays,
    clock: io.clock,
  });
  const publisher = new SnsPublisher({ client: sns, topicArn, clock: io.clock });
  const store = new DynamoBackfillProgress({ client: dynamo, tableName: target.tableName });

  const from = await startingPoint(ctx, store, formId, window, untilRaw === undefined);
  println(
    io.stdout,
    `Backfilling form ${formId}: submitted ${formatTime(from.window.start)} … ${formatTime(from.window.end)}, ` +
      `reading Weiban with up to ${maxInFlight} request(s) at once and ${maxPerMinute} a minute, publishing to ${topicArn}`,
  );
  const bar = progress(io.stdout, `backfill form ${formId}`, 'rows', () => io.clock.now());
  const show = (p: BackfillProgress) => {
    bar.update(
      p.offset,
      p.total,
      `${formatCount(p.published)} published · ${formatCount(p.alreadyRecorded)} already recorded`,
    );
  };
  const started = io.clock.now();
  let done: BackfillProgress;
  try {
    done = await backfill(
      {
        settings: config,
        weiban: weiban.client,
        ledger,
        publisher,
        progress: store,
        clock: io.clock,
        pause: () => weiban.limiter.yieldIfWanted(),
      },
      {
        formId,
        from,
        ...(io.signal !== undefined && { signal: io.signal }),
        onPage: show,
        onSecondPass: () => {
          bar.finish();
          println(
            io.stdout,
            'Rows moved while reading; reading the window once more to catch them.',
          );
        },
      },
    );
  } catch (error: unknown) {
    bar.finish();
    const saved = await store.load(formId).catch(() => undefined);
    const where =
      saved === undefined
        ? ''
        : ` after ${formatCount(saved.offset)}${saved.total === undefined ? '' : ` of ${formatCount(saved.total)}`} rows (${formatCount(saved.published)} published)`;
    if (io.signal?.aborted === true && isAbort(error)) {
      println(io.stderr, `Interrupted${where}. Run the same command again to resume.`);
      return INTERRUPTED_EXIT;
    }
    throw new CliError(
      `backfill of form ${formId} stopped${where}: ${explain(error)}. Run the same command again to resume.`,
    );
  } finally {
    // Shares what it sent and hands the corp's Weiban budget back now, not when it lapses.
    await weiban.limiter.release().catch(() => undefined);
  }
  bar.finish();
  const calls = Object.values(weiban.limiter.stats().calls).reduce((sum, n) => sum + n, 0);
  println(
    io.stdout,
    `Backfilled form ${formId}: ${formatCount(done.offset)} row(s) read, ${formatCount(done.published)} published, ` +
      `${formatCount(done.alreadyRecorded)} already recorded, in ${formatElapsed(io.clock.now() - started)} ` +
      `with ${formatCount(calls)} Weiban request(s).`,
  );
  return 0;
}

/** A fresh start, or the saved progress of the same backfill (same form and range). */
async function startingPoint(
  ctx: CommandContext,
  store: DynamoBackfillProgress,
  formId: number,
  window: { start: number; end: number },
  openEnded: boolean,
): Promise<BackfillProgress> {
  const { io } = ctx;
  const fresh: BackfillProgress = {
    window,
    offset: 0,
    published: 0,
    alreadyRecorded: 0,
    startedAt: io.clock.now(),
  };
  if (ctx.flag('restart')) return fresh;
  const saved = await store.load(formId);
  if (saved === undefined) return fresh;
  // Without --until the first run's end stands: the window stays frozen across resumes
  // (docs/guarantees.md#g3).
  const same =
    saved.window.start === window.start && (openEnded || saved.window.end === window.end);
  if (same) {
    println(
      io.stdout,
      `Resuming the backfill of form ${formId} begun ${formatDuration((io.clock.now() - saved.startedAt) / 1000)} ago, ` +
        `at row ${formatCount(saved.offset)}${saved.total === undefined ? '' : ` of ${formatCount(saved.total)}`}.`,
    );
    return saved;
  }
  println(
    io.stdout,
    `An unfinished backfill of form ${formId} (${formatTime(saved.window.start)} … ${formatTime(saved.window.end)}) is replaced by this one.`,
  );
  return fresh;
}
