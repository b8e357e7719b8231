import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { buildEvent, type FormEvent } from '../../lib/events.js';
import { DynamoWebhookAttempts } from '../../lib/store/webhook-attempts.js';
import { recentAttempts } from '../../lib/store/webhook-log-query.js';
import { isRobot, type Endpoint } from '../../lib/webhooks/endpoints.js';
import { redrive } from '../../lib/webhooks/redrive.js';
import { createDeliverService } from '../../lib/webhooks/service.js';
import {
  readRotation,
  SigningSetupError,
  type SecretRotation,
} from '../../lib/webhooks/standard.js';
import { sendTestEvent } from '../../lib/webhooks/test-send.js';
import { durationFlag, integerFlag } from '../args.js';
import type { Command, CommandContext, Options } from '../command.js';
import { CliError, INTERRUPTED_EXIT, UsageError } from '../errors.js';
import {
  formatCount,
  formatDuration,
  formatElapsed,
  formatTime,
  renderTable,
  truncate,
} from '../format.js';
import { println } from '../io.js';
import { progress } from '../progress.js';
import { endpointNamed, queueDepth, webhooksOf, type QueueDepth } from '../webhooks.js';

const OPTIONS: Options = {
  stage: { type: 'string' },
  region: { type: 'string' },
  table: { type: 'string' },
};

const WHERE_HELP = `Where the endpoints are:
  --stage STAGE     the deployed stack weiban-forms-STAGE: its Webhooks output (and, for test
                    and rotate-secret, the deliver function's settings)
  --region REGION   its AWS region (default: AWS_REGION or AWS_DEFAULT_REGION, else the
                    stage's region in serverless.yml)
  --table NAME      without --stage: the table (default: $TABLE_NAME), with the endpoints
                    in WEBHOOKS as the deliver function gets it (npm start writes both to
                    .local/weiban-forms.env)`;

const ENDPOINT_HELP = `  --endpoint NAME   the endpoint, as the webhooks param names it (see webhooks list)`;

export const webhooksListCommand: Command = {
  name: 'webhooks list',
  summary: 'every webhook endpoint: format, rate, queue and dead-letter depth',
  targeted: true,
  options: OPTIONS,
  help: `Usage: weiban-forms webhooks list [where]

Lists every webhook endpoint: its format, its rate limit, the events queued for it and those
in its dead-letter queue. QUEUED counts every event waiting for delivery, those in a batch
now or held back for a retry or a send slot included; SQS's counts are approximate. No URL,
key or secret is shown.

${WHERE_HELP}

Example: weiban-forms webhooks list --stage prod`,
  run: list,
};

export const webhooksTestCommand: Command = {
  name: 'webhooks test',
  summary: 'send a signed sample event to an endpoint now, and show the answer',
  targeted: true,
  options: { ...OPTIONS, endpoint: { type: 'string' } },
  help: `Usage: weiban-forms webhooks test --endpoint NAME [where]

Sends one sample event to the endpoint now, with the deliver function's own code: signed
with the endpoint's current secret(s) for standard, in the robot's message format and
signing for a robot. It prints the status, the time to answer and the first bytes of the
answer (secrets masked), and adds the attempt to the endpoint's log. The send is taken from
the endpoint's shared send window, so a test never pushes a robot over its limit; when the
window is full it says when to try again and sends nothing. Nothing is retried.

The sample is a submission of 测试用户 (上海市) to form 1, "webhooks test", with an id of its
own (weiban:webhooks-test:1:<ms>): a receiver that dedupes on webhook-id sees every test as
new. A WeCom, Feishu or DingTalk group sees the message.

${ENDPOINT_HELP}

${WHERE_HELP}

Reads the endpoint's URL and secret parameters (ssm:GetParameter) and, with --stage, the
deliver function's configuration (lambda:GetFunctionConfiguration).

Example: weiban-forms webhooks test --stage prod --endpoint Crm`,
  run: testSend,
};

export const webhooksLogCommand: Command = {
  name: 'webhooks log',
  summary: "an endpoint's last delivery attempts, newest first",
  targeted: true,
  options: { ...OPTIONS, endpoint: { type: 'string' }, limit: { type: 'string' } },
  help: `Usage: weiban-forms webhooks log --endpoint NAME [--limit N] [where]

Lists the endpoint's last delivery attempts, newest first (kept 7 days): when, the event (a
robot digest that told of several is listed once for each of them), the attempt's number for
that event, its outcome (delivered, retry, dead), the HTTP status or the failure (timeout,
network, refused, config), a robot's answer code, the time to answer, the first bytes of the
answer (secrets masked) and why it was not delivered.

${ENDPOINT_HELP}
  --limit N         how many attempts (default 20, at most 500)

${WHERE_HELP}

Example: weiban-forms webhooks log --stage prod --endpoint SalesGroup --limit 50`,
  run: log,
};

export const webhooksRedriveCommand: Command = {
  name: 'webhooks redrive',
  summary: "move an endpoint's dead letters back to its queue, for the full retry schedule",
  targeted: true,
  options: { ...OPTIONS, endpoint: { type: 'string' } },
  help: `Usage: weiban-forms webhooks redrive --endpoint NAME [where]

Moves every message in the endpoint's dead-letter queue back to its queue, the event body
unchanged, and starts each event's attempt count again, so it gets the whole retry schedule
once more. Fix the receiver first (webhooks log shows why they failed, webhooks test checks
the fix). A receiver sees the same webhook-id as before, so one that dedupes is safe.

An event refused again while the redrive runs comes back to the dead-letter queue; it is
left there rather than moved round again, and counted. Ctrl-C stops after the message being
moved; the rest stays in the dead-letter queue.

${ENDPOINT_HELP}

${WHERE_HELP}

Example: weiban-forms webhooks redrive --stage prod --endpoint Crm`,
  run: redriveEndpoint,
};

export const webhooksRotateSecretCommand: Command = {
  name: 'webhooks rotate-secret',
  summary: 'a new whsec_ secret for a standard endpoint, the old one valid for a grace period',
  targeted: true,
  options: {
    ...OPTIONS,
    endpoint: { type: 'string' },
    grace: { type: 'string' },
    out: { type: 'string' },
  },
  help: `Usage: weiban-forms webhooks rotate-secret --endpoint NAME [--grace 24h] [--out FILE] [where]

Makes a new Standard Webhooks secret (whsec_ and 32 random bytes in base64) for a standard
endpoint and writes it to the endpoint's secretParam as
{"current":"whsec_…","previous":[{"secret":"whsec_…","until":<epoch ms>}]}: the old secret
stays valid for the grace period. The deliver function reads the parameter again within
5 minutes; from then until the grace ends, every delivery carries two signatures, one per
secret, so the receiver verifies with either.

  1. Run this. 2. Wait 5 minutes. 3. Give the new secret to the receiver before the grace
  ends; a Standard Webhooks library configured with only the new secret accepts the
  deliveries from step 2 on.

${ENDPOINT_HELP}
  --grace DURATION  how long the old secret stays valid: 90m, 24h, 7d (default 24h, at
                    most 30d; 0 ends it at once, and the receiver must switch within minutes)
  --out FILE        write the new secret to FILE (created with mode 600; an existing file
                    is not overwritten) instead of printing it

The new secret is shown once, and kept nowhere but in the parameter (a SecureString) and, with
--out, the file. On a terminal it is printed between two marked lines: that is where you copy
it to the receiver's settings, and a terminal keeps no log. Without a terminal (a pipe, CI) it
is never printed, since such output tends to end up in logs: give --out.

Feishu and DingTalk robots make their own signing secret: regenerate it in the robot's
settings and put it in the endpoint's secretParam. WeCom robots have none.

${WHERE_HELP}

Needs ssm:GetParameter and ssm:PutParameter on the parameter (and, with --stage,
lambda:GetFunctionConfiguration). Keep the parameter under the AWS managed key.

Example: weiban-forms webhooks rotate-secret --stage prod --endpoint Crm --grace 48h`,
  run: rotateSecret,
};

export const WEBHOOK_COMMANDS: readonly Command[] = [
  webhooksListCommand,
  webhooksTestCommand,
  webhooksLogCommand,
  webhooksRedriveCommand,
  webhooksRotateSecretCommand,
];

async function list(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const webhooks = await webhooksOf(ctx);
  const { sqs } = ctx.clients();
  println(
    io.stdout,
    `${webhooks.target.label} · ${formatCount(webhooks.endpoints.length)} webhook endpoint(s)`,
  );
  if (webhooks.endpoints.length === 0) {
    println(io.stdout, "No webhook endpoints: add some with the stage's webhooks param.");
    return 0;
  }
  let unreadable = 0;
  const depth = async (url: string): Promise<QueueDepth | undefined> => {
    try {
      return await queueDepth(sqs, url);
    } catch (error: unknown) {
      unreadable += 1;
      println(io.stderr, `warning: ${queueName(url)}: ${errorSentence(error)}`);
      return undefined;
    }
  };
  const rows = await Promise.all(
    webhooks.endpoints.map(async (endpoint) => ({
      endpoint,
      queue: await depth(endpoint.queueUrl),
      dlq: await depth(endpoint.dlqUrl),
    })),
  );
  const count = (found: QueueDepth | undefined) =>
    found === undefined ? '?' : formatCount(found.visible + found.hidden);
  println(
    io.stdout,
    renderTable(
      ['NAME', 'FORMAT', 'RATE', 'QUEUED', 'DEAD LETTERS'],
      rows.map(({ endpoint, queue, dlq }) => [
        endpoint.name,
        endpoint.format,
        `${formatCount(endpoint.ratePerMinute)}/min`,
        count(queue),
        count(dlq),
      ]),
    ),
  );
  for (const { endpoint, dlq } of rows) {
    const dead = dlq === undefined ? 0 : dlq.visible + dlq.hidden;
    if (dead === 0) continue;
    println(
      io.stdout,
      `${endpoint.name}: ${formatCount(dead)} event(s) could not be delivered. See why with "weiban-forms webhooks log --endpoint ${endpoint.name}", then move them back with "weiban-forms webhooks redrive --endpoint ${endpoint.name}".`,
    );
  }
  return unreadable > 0 ? 1 : 0;
}

async function testSend(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const webhooks = await webhooksOf(ctx);
  const named = endpointNamed(webhooks, ctx.string('endpoint'));
  const { endpoint, allowLoopback } = await webhooks.settings(named.name);
  const { dynamo, sqs, ssm } = ctx.clients();
  const service = createDeliverService({
    config: { tableName: webhooks.target.tableName, webhooks: [endpoint], allowLoopback },
    clients: { dynamo, sqs, ssm },
    // The test's result is printed below; the delivery's own log lines would only repeat it.
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    clock: io.clock,
  });
  const event = sampleEvent(io.clock.now());
  const result = await sendTestEvent(service.deps, endpoint, event);
  if (!result.sent) {
    const waitS = Math.max(1, Math.ceil((result.nextAt - io.clock.now()) / 1000));
    throw new CliError(
      `${endpoint.name}'s send window is full (${formatCount(endpoint.ratePerMinute)} a minute, shared with the deliveries): nothing was sent; try again in ${formatDuration(waitS)}`,
    );
  }
  const { outcome } = result;
  const status = [
    /^\d+$/.test(outcome.status) ? `HTTP ${outcome.status}` : outcome.status,
    ...(outcome.code === undefined ? [] : [`code ${outcome.code}`]),
  ].join(', ');
  println(
    io.stdout,
    `Sent the test event ${event.id} to ${endpoint.name} (${endpoint.format}, ${result.to}).`,
  );
  const verdict =
    outcome.kind === 'delivered'
      ? 'delivered'
      : outcome.kind === 'retry'
        ? `not delivered; the delivery would retry: ${outcome.reason}`
        : `refused; the delivery would dead-letter it: ${outcome.reason}`;
  println(io.stdout, `${status} in ${formatCount(result.latencyMs)} ms: ${verdict}.`);
  println(io.stdout, `Answer: ${result.answer === '' ? '(none)' : oneLine(result.answer)}`);
  return outcome.kind === 'delivered' ? 0 : 1;
}

async function log(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const limit = integerFlag(ctx.string('limit'), '--limit', { min: 1, max: 500, fallback: 20 });
  const webhooks = await webhooksOf(ctx);
  const endpoint = endpointNamed(webhooks, ctx.string('endpoint'));
  const attempts = await recentAttempts(
    { client: ctx.clients().dynamo, tableName: webhooks.target.tableName },
    endpoint.name,
    limit,
  );
  println(
    io.stdout,
    `${webhooks.target.label} · ${endpoint.name} (${endpoint.format}) · the last ${formatCount(attempts.length)} attempt(s), newest first`,
  );
  if (attempts.length === 0) {
    println(
      io.stdout,
      `No attempts in the last 7 days: nothing was sent to ${endpoint.name} (try "weiban-forms webhooks test --endpoint ${endpoint.name}").`,
    );
    return 0;
  }
  println(
    io.stdout,
    renderTable(
      ['TIME', 'EVENT', 'TRY', 'OUTCOME', 'STATUS', 'CODE', 'LATENCY', 'ANSWER', 'REASON'],
      attempts.map((attempt) => [
        formatTime(Math.floor(attempt.atMs / 1000)),
        attempt.events > 1 ? `${attempt.eventId} (digest of ${attempt.events})` : attempt.eventId,
        String(attempt.attempt),
        attempt.outcome,
        attempt.status,
        attempt.code === undefined ? '—' : String(attempt.code),
        `${formatCount(attempt.latencyMs)} ms`,
        attempt.answer === '' ? '—' : truncate(oneLine(attempt.answer), 48),
        attempt.reason === undefined ? '—' : truncate(oneLine(attempt.reason), 72),
      ]),
    ),
  );
  return 0;
}

async function redriveEndpoint(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const webhooks = await webhooksOf(ctx);
  const endpoint = endpointNamed(webhooks, ctx.string('endpoint'));
  const { sqs, dynamo } = ctx.clients();
  const before = await queueDepth(sqs, endpoint.dlqUrl);
  const waiting = before.visible + before.hidden;
  if (waiting === 0) {
    println(io.stdout, `${endpoint.name}'s dead-letter queue is empty: nothing to redrive.`);
    return 0;
  }
  println(
    io.stdout,
    `Moving about ${formatCount(waiting)} dead letter(s) of ${endpoint.name} back to its queue; each event's attempt count starts again.`,
  );
  const attempts = new DynamoWebhookAttempts({
    client: dynamo,
    tableName: webhooks.target.tableName,
    clock: io.clock,
  });
  const reasons = new Map<string, number>();
  let moved = 0;
  const bar = progress(io.stdout, `redrive ${endpoint.name}`, 'dead letters', () => io.clock.now());
  const started = io.clock.now();
  const result = await redrive({
    sqs,
    dlqUrl: endpoint.dlqUrl,
    queueUrl: endpoint.queueUrl,
    resetAttempts: (eventId) => attempts.reset(endpoint.name, eventId),
    ...(io.signal !== undefined && { signal: io.signal }),
    onMoved: ({ reason }) => {
      moved += 1;
      const key = reason ?? 'no reason recorded';
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      bar.update(moved, Math.max(waiting, moved), 'moved back');
    },
  });
  bar.finish();
  println(
    io.stdout,
    `Moved ${formatCount(result.moved)} dead letter(s) back to ${endpoint.name}'s queue in ${formatElapsed(io.clock.now() - started)}; the deliver function sends them with the full retry schedule.`,
  );
  if (reasons.size > 0) {
    println(io.stdout, 'They had been dead-lettered because:');
    for (const [reason, count] of [...reasons].sort((a, b) => b[1] - a[1])) {
      println(io.stdout, `  ${formatCount(count)} × ${oneLine(reason)}`);
    }
  }
  if (result.returned > 0) {
    println(
      io.stdout,
      `${formatCount(result.returned)} came back to the dead-letter queue during the redrive (refused again) and were left there: check the receiver with "weiban-forms webhooks test --endpoint ${endpoint.name}".`,
    );
  }
  if (io.signal?.aborted === true) {
    println(io.stderr, 'Interrupted: what was not moved stays in the dead-letter queue.');
    return INTERRUPTED_EXIT;
  }
  return 0;
}

const SECRET_BYTES = 32;
const MAX_GRACE_MS = 30 * 86_400_000;

async function rotateSecret(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const graceMs = durationFlag(ctx.string('grace'), '--grace', {
    fallbackMs: 86_400_000,
    maxMs: MAX_GRACE_MS,
  });
  const out = ctx.string('out');
  if (out === undefined && io.stdout.isTTY !== true) {
    throw new UsageError(
      'rotate-secret prints the new secret only to a terminal, and this output is not one (it could end up in a log): give --out FILE',
    );
  }
  const webhooks = await webhooksOf(ctx);
  const named = endpointNamed(webhooks, ctx.string('endpoint'));
  const { endpoint } = await webhooks.settings(named.name);
  const param = secretParamOf(endpoint);
  const { ssm } = ctx.clients();
  const current = await readSecret(ssm, param);
  const nowMs = io.clock.now();
  const secret = `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;
  const until = nowMs + graceMs;
  const value = JSON.stringify({
    current: secret,
    previous: [
      ...(graceMs > 0 ? [{ secret: current.current, until }] : []),
      // Secrets of an earlier rotation keep their own end, if it is still ahead.
      ...current.previous.filter((entry) => entry.until > nowMs),
    ],
  });
  // The file first: if it cannot be written, the parameter is left as it was.
  if (out !== undefined) await writeSecretFile(out, secret);
  await ssm.send(
    new PutParameterCommand({ Name: param, Value: value, Type: 'SecureString', Overwrite: true }),
  );
  println(io.stdout, `Rotated the signing secret of ${endpoint.name} in ${param}.`);
  println(
    io.stdout,
    graceMs > 0
      ? `The old secret stays valid until ${formatTime(Math.floor(until / 1000))} (${formatDuration(graceMs / 1000)}): within 5 minutes the deliveries carry both signatures, until then.`
      : 'The old secret is no longer valid: within 5 minutes the deliveries carry only the new signature.',
  );
  if (out === undefined) {
    println(io.stdout);
    println(io.stdout, '---- the new secret, shown this once: give it to the receiver ----');
    println(io.stdout, secret);
    println(io.stdout, '---- end of the new secret ----');
    println(io.stdout);
  } else {
    println(io.stdout, `The new secret is in ${out} (mode 600): give it to the receiver.`);
  }
  println(
    io.stdout,
    'Wait 5 minutes before the receiver uses only the new secret; a receiver that tries both may switch now.',
  );
  return 0;
}

function secretParamOf(endpoint: Endpoint): string {
  if (isRobot(endpoint.format)) {
    throw new CliError(
      endpoint.format === 'wecom'
        ? `${endpoint.name} is a WeCom robot: WeCom robots sign nothing, so there is no secret to rotate`
        : `${endpoint.name} is a ${endpoint.format} robot, which makes its own signing secret: regenerate it in the robot's settings and put it in ${endpoint.secretParam ?? "the endpoint's secretParam"}`,
    );
  }
  if (endpoint.secretParam === undefined) {
    throw new CliError(`${endpoint.name} has no secretParam`);
  }
  return endpoint.secretParam;
}

/** The secret(s) the parameter holds now, checked as the deliver function reads them. */
async function readSecret(ssm: SSMClient, param: string): Promise<SecretRotation> {
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: param, WithDecryption: true }));
    value = out.Parameter?.Value?.trim();
  } catch (error: unknown) {
    if (error instanceof ParameterNotFound) {
      throw new CliError(
        `${param} does not exist: put the endpoint's first secret there (README, "Webhooks"), then rotate`,
      );
    }
    throw error;
  }
  if (value === undefined || value === '') throw new CliError(`${param} is empty`);
  try {
    // A value the deliver function could not sign with is not rotated: fix it first.
    return readRotation(value);
  } catch (error: unknown) {
    if (error instanceof SigningSetupError) {
      throw new CliError(`${param} holds no usable secret now (${error.message}); fix it first`);
    }
    throw error;
  }
}

async function writeSecretFile(path: string, secret: string): Promise<void> {
  try {
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new CliError(
      code === 'EEXIST'
        ? `${path} exists already: give --out a new file (nothing was rotated)`
        : `cannot write ${path} (${code || 'error'}): nothing was rotated`,
    );
  }
}

/**
 * The sample `webhooks test` sends: a submission as the poller would publish it, of a form
 * and submitter that are plainly a test, with an id of its own each time.
 */
export function sampleEvent(nowMs: number): FormEvent {
  const nowS = Math.floor(nowMs / 1000);
  return buildEvent({
    corpId: 'webhooks-test',
    submitter: {
      u_id: nowMs,
      form_id: 1,
      form_name: 'webhooks test',
      status: 'submit',
      submit_at: nowS,
      external_user_id: 'webhooks-test',
      unionid: 'webhooks-test',
      user_name: '测试用户',
      user_city: '上海市',
    },
    type: 'weiban.form.submitted',
    detectedAtMs: nowMs,
  });
}

const quiet = (): void => undefined;

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

function queueName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function errorSentence(error: unknown): string {
  if (!(error instanceof Error)) return 'unreadable';
  return error.name === 'QueueDoesNotExist' || error.name.includes('NonExistentQueue')
    ? 'the queue does not exist'
    : `${error.name}: ${error.message.split('\n', 1)[0] ?? ''}`;
}
