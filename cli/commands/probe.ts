import { loadBackfillConfig } from '../../lib/config.js';
import { probe } from '../../lib/probe/probe.js';
import { callText, WireLog } from '../../lib/probe/wire.js';
import { createWeiban } from '../../lib/service.js';
import { DynamoFindingsStore } from '../../lib/store/findings.js';
import { corpPk, FINDINGS_SK } from '../../lib/store/keys.js';
import {
  pollingModes,
  QUESTIONS,
  type Learned,
  type PollingModes,
  type WeibanFindings,
} from '../../lib/weiban/findings.js';
import { formIdFlag, integerFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { TARGET_HELP, TARGET_OPTIONS } from '../command.js';
import { CliError } from '../errors.js';
import { formatElapsed, renderTable } from '../format.js';
import { println } from '../io.js';
import { withStageSecret } from '../target.js';

const DEFAULT_MAX_CALLS = 30;
const MOST_CALLS = 100;

export const probeCommand: Command = {
  name: 'probe',
  summary:
    'learn what Weiban’s docs leave unknown from a few read-only calls; --save for the poller',
  targeted: true,
  options: {
    ...TARGET_OPTIONS,
    form: { type: 'string' },
    save: { type: 'boolean' },
    'max-calls': { type: 'string' },
    'skip-new-token': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  help: `Usage: weiban-forms probe --form ID [--save] [--max-calls N] [--skip-new-token] [--json] [target]

Asks the real Weiban API what its documentation leaves open, with a small number of read-only
calls against one form, and says for each question whether the answer confirmed the claim,
refuted it, or left it undetermined, with the calls that decided it:

  the sort order of form/user/list; whether start_time/end_time filter on submit_at, and
  whether each bound is inclusive; the largest limit accepted (a search up to 1000); whether
  form_id is optional (one listing for every form); what expires_in says of a token's life;
  whether a new token ends the old one.

Every call is taken from the corp's shared Weiban budget in the table, beside the poller's,
and a Weiban block stops the probe. The token fetch of the new-token test ends the poller's
token if Weiban does end old tokens; the poller then takes the new one from the table.

  --form ID            a form with submitters: at least two, at different times, answer most
  --save               store the findings in the table (CORP#<corp>/FINDINGS); the poller then
                       uses the cheapest polling modes they prove
  --max-calls N        Weiban requests at most, token fetches included, 1-${MOST_CALLS} (default ${DEFAULT_MAX_CALLS})
  --skip-new-token     skip the new-token test (it costs a token fetch)
  --json               machine-readable output

Progress and each call as it is answered go to stderr; the report goes to stdout.

Weiban credentials: WEIBAN_CORP_ID, and WEIBAN_SECRET or WEIBAN_SECRET_PARAM (with --stage,
the default is the stage's parameter /weiban-forms/STAGE/weiban-secret). PAGE_SIZE is the
first listing's limit, as the poller's.

${TARGET_HELP}

Example: WEIBAN_CORP_ID=wwa1b2c3 weiban-forms probe --stage prod --form 842 --save`,
  run: runProbe,
};

async function runProbe(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const formId = formIdFlag(ctx.string('form'));
  const maxCalls = integerFlag(ctx.string('max-calls'), '--max-calls', {
    min: 1,
    max: MOST_CALLS,
    fallback: DEFAULT_MAX_CALLS,
  });
  const json = ctx.flag('json');
  // Progress and each call as it is answered go to stderr; stdout holds the report alone.
  const progress = io.stderr;
  const target = await ctx.target();
  const config = loadBackfillConfig(withStageSecret(io.env, ctx.string('stage')));
  const { dynamo, ssm } = ctx.clients();
  const wire = new WireLog(maxCalls, io.fetch ?? globalThis.fetch, (call) => {
    println(progress, `  ${callText(call)}`);
  });
  // The corp's Weiban budget and token are shared with the deployed poller (docs/guarantees.md#g4, #g5).
  // One try per call: a failure is evidence, and a retry would spend the bound.
  const weiban = createWeiban({
    config,
    tableName: target.tableName,
    clients: { dynamo, ssm },
    label: 'probe',
    clock: io.clock,
    fetch: wire.fetch,
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  println(
    progress,
    `Probing Weiban at ${config.weibanBaseUrl} for corp ${config.corpId} with form ${formId}: read-only, at most ${maxCalls} call(s), from the corp's shared budget in ${target.label}`,
  );
  const started = io.clock.now();
  let result;
  try {
    result = await probe(
      { weiban: weiban.client, tokens: weiban.tokens, wire, clock: io.clock },
      {
        corpId: config.corpId,
        baseUrl: config.weibanBaseUrl,
        formId,
        pageSize: config.pageSize,
        newToken: !ctx.flag('skip-new-token'),
        ...(io.signal !== undefined && { signal: io.signal }),
        progress: (line) => {
          println(progress, line);
        },
      },
    );
  } finally {
    // Shares what it sent and hands the corp's Weiban budget back now, not when it lapses.
    await weiban.limiter.release().catch(() => undefined);
  }
  const { findings } = result;
  const modes = pollingModes(findings, {
    pageSize: config.pageSize,
    largerPages: 'auto',
    trustTimeFilter: 'auto',
    corpWideListing: 'auto',
  });
  const where = `${corpPk(config.corpId)}/${FINDINGS_SK}`;
  let saved = false;
  if (ctx.flag('save') && result.failed === undefined) {
    await new DynamoFindingsStore({
      client: dynamo,
      tableName: target.tableName,
      corpId: config.corpId,
    }).save(findings);
    saved = true;
  }
  const elapsed = io.clock.now() - started;
  if (json) {
    println(
      io.stdout,
      JSON.stringify(
        { target: target.label, saved, item: where, findings, modes, calls: wire.calls },
        null,
        2,
      ),
    );
  } else {
    println(io.stdout, findingsTable(findings));
    println(io.stdout);
    for (const line of modeLines(modes)) println(io.stdout, line);
    println(
      io.stdout,
      `${findings.calls} of at most ${maxCalls} Weiban call(s), in ${formatElapsed(elapsed)}.`,
    );
    println(
      io.stdout,
      saved
        ? `Saved to ${target.label} as ${where}; each poller container reads it at its first pass; running ones keep what they read.`
        : result.failed === undefined
          ? 'Not saved: run again with --save to let the poller use these findings.'
          : 'Not saved: nothing was learned.',
    );
  }
  if (result.failed !== undefined) {
    throw new CliError(`the probe of form ${formId} learned nothing: ${result.failed}`);
  }
  return 0;
}

/** One row per question: its label, verdict and what was learned. */
export function findingsTable(findings: WeibanFindings): string {
  return renderTable(
    ['QUESTION', 'VERDICT', 'FINDING'],
    QUESTIONS.map(([key, label]) => {
      const answer: Learned = findings[key];
      return [label, answer.verdict, answer.summary];
    }),
  );
}

function modeLines(modes: PollingModes): string[] {
  return [
    'The poller may then use (WEIBAN_LARGER_PAGES, WEIBAN_TRUST_TIME_FILTER and WEIBAN_CORP_WIDE_LISTING set to off keep a mode off):',
    `  page size: ${modes.reasons.pageSize}`,
    `  time window: ${modes.reasons.exactTimeFilter}`,
    `  listing: ${modes.reasons.corpWideListing}`,
  ];
}
