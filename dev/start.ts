/**
 * `npm start`: the service on this machine with nothing to set up (docs/guarantees.md#local).
 * Starts the Weiban simulator, DynamoDB Local and moto; creates the table from serverless.yml and
 * the topic with a subscribed queue; runs the real handler every few seconds and prints each
 * delivered event. It also delivers the events as webhooks, through the real deliver handler,
 * to a local Standard Webhooks receiver that verifies every signature and to fakes of the
 * WeCom, Feishu and DingTalk robots, and prints each delivery (dev/start-webhooks.ts). With
 * WEIBAN_CORP_ID, WEIBAN_SECRET and FORM_IDS set it polls the real Weiban instead.
 *
 *   npm start                   until Ctrl-C
 *   npm start -- --once         one run, then exit
 *   npm start -- --interval 10  seconds between runs
 *   npm start -- --seed 42      the same submitters and arrivals as another run with seed 42
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { explain } from '../cli/errors.js';
import { eventLine, formatTime } from '../cli/format.js';
import { briefLog } from '../cli/log.js';
import { systemClock, toUnixSeconds } from '../lib/clock.js';
import { loadConfig, type Config } from '../lib/config.js';
import { formEventSchema, type FormEvent } from '../lib/events.js';
import { pollHandler } from '../lib/handler.js';
import type { RunSummary } from '../lib/model.js';
import { createPollService } from '../lib/service.js';
import { startDynamoDbLocal, startMoto } from './emulators.js';
import { WeibanSimulator } from './simulator/index.js';
import { createTable } from './table.js';
import { createTopicWithQueue, receiveAll } from './topic.js';
import { ArrivalPlan } from './arrivals.js';
import { startWebhooks, type StartedWebhooks } from './start-webhooks.js';

const NAME = 'weiban-forms-local';
const REGION = 'us-east-1';
// The emulators accept any credentials; fixed ones keep a developer's real AWS profile out.
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const SIM_CORP = { id: 'sim-corp', secret: 'sim-secret' };
const SIM_FORMS = new Map([
  [842, '春季课程报名'],
  [901, '客户回访问卷'],
  [977, '线下活动签到'],
]);
// The first run picks up this much history, so events show at once (START_FROM a time,
// docs/guarantees.md#g7).
const HISTORY_S = 15 * 60;
// Per form: half of them after START_FROM, so the first run shows some of every form.
const HISTORY_PER_FORM = 8;
// The deployed function's timeout (serverless.yml custom.poll.timeoutSeconds).
const RUN_BUDGET_MS = 60_000;
// --once: how long the webhooks may take to deliver the run's events before it exits.
const WEBHOOKS_SETTLE_MS = 60_000;
// Forms are due again this soon: the local loop's turns (--interval) set the real pace.
const LOCAL_INTERVAL_S = '5';
const SECOND_SIGNAL_MS = 1_000;
const ENV_FILE = fileURLToPath(new URL('../.local/weiban-forms.env', import.meta.url));

type Mode = { readonly kind: 'simulator' } | { readonly kind: 'weiban' };

interface Options {
  readonly once: boolean;
  readonly intervalMs: number;
  /** Seeds the simulator's submitters and arrivals; random unless --seed is given. */
  readonly seed: number;
}

class StartError extends Error {
  override readonly name = 'StartError';
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const mode = weibanMode(process.env);
  // Powertools reads this when each Metrics is built: no EMF documents on the console.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // package.json supports Node 20.19+; the SDK's notice about its future needs says nothing here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const stop = new AbortController();
  let stoppingSince = 0;
  const onSignal = () => {
    if (!stop.signal.aborted) {
      stoppingSince = Date.now();
      process.stdout.write('\nStopping…\n');
      stop.abort();
      return;
    }
    // tsx relays the terminal's Ctrl-C once more; only a later, second Ctrl-C means "now".
    // Exiting at once still ends the emulators (their exit hook and watchdogs).
    if (Date.now() - stoppingSince > SECOND_SIGNAL_MS) process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const stops: (() => Promise<void>)[] = [];
  let polling = false;
  try {
    const local = await startLocal(mode, options.seed, stops);
    if (stop.signal.aborted) return 0;
    printBanner(local, !options.once);
    polling = true;
    if (options.once) {
      const ran = await runOnce(local, 1);
      const delivered = await local.webhooks.settle(WEBHOOKS_SETTLE_MS);
      if (!delivered) {
        process.stdout.write(
          `webhooks: not every event was delivered within ${WEBHOOKS_SETTLE_MS / 1000} s\n`,
        );
      }
      return ran && delivered ? 0 : 1;
    }
    local.webhooks.start();
    const envFile = writeEnvFile(local.cliEnv);
    stops.push(() => {
      removeEnvFile(envFile);
      return Promise.resolve();
    });
    await keepPolling(local, options.intervalMs, stop.signal);
    return 0;
  } finally {
    // Newest first: clients, then the simulator and the emulators.
    for (let next = stops.pop(); next !== undefined; next = stops.pop()) {
      await next().catch(() => undefined);
    }
    if (polling && stop.signal.aborted) {
      process.stdout.write(
        'Stopped: the simulator, the webhook receivers, DynamoDB Local and moto are down.\n',
      );
    }
  }
}

/** The local stack, ready to poll. */
interface Local {
  readonly config: Config;
  readonly simulator: WeibanSimulator | undefined;
  /** Where the simulator's submitters come from (unused against the real Weiban). */
  readonly arrivals: ArrivalPlan;
  readonly endpoints: { readonly dynamo: string; readonly moto: string };
  /** The webhook receivers and the deliver handler's event sources. */
  readonly webhooks: StartedWebhooks;
  /** What the operator CLI needs to reach this stack from another terminal. */
  readonly cliEnv: Readonly<Record<string, string>>;
  /** One invocation of the real handler. */
  invoke(signal?: AbortSignal): Promise<RunSummary>;
  /** The next `count` events the subscribed queue receives. */
  delivered(count: number): Promise<FormEvent[]>;
}

/**
 * Starts the simulator (unless polling the real Weiban), DynamoDB Local and moto, creates the
 * table and topic, and wires the service. Pushes a stop for everything it starts onto `stops`,
 * even when it fails part-way.
 */
async function startLocal(
  mode: Mode,
  seed: number,
  stops: (() => Promise<void>)[],
): Promise<Local> {
  process.stdout.write('Starting DynamoDB Local and moto…\n');
  const simulator = mode.kind === 'simulator' ? new WeibanSimulator({ seed }) : undefined;
  const arrivals = new ArrivalPlan({ seed, historySeconds: HISTORY_S, perForm: HISTORY_PER_FORM });
  const [dynamoStart, motoStart, simulatorStart] = await Promise.allSettled([
    startDynamoDbLocal(),
    startMoto(),
    simulator === undefined ? Promise.resolve(undefined) : simulator.start(),
  ]);
  for (const started of [dynamoStart, motoStart]) {
    if (started.status === 'fulfilled') stops.push(() => started.value.stop());
  }
  if (simulator !== undefined && simulatorStart.status === 'fulfilled') {
    stops.push(() => simulator.stop());
  }
  if (
    dynamoStart.status === 'rejected' ||
    motoStart.status === 'rejected' ||
    simulatorStart.status === 'rejected'
  ) {
    const reasons = [dynamoStart, motoStart, simulatorStart].flatMap((started) =>
      started.status === 'rejected' ? [startFailure(started.reason)] : [],
    );
    throw new StartError(reasons.join('\nnpm start: '));
  }
  const [dynamo, moto, simulatorUrl] = [dynamoStart.value, motoStart.value, simulatorStart.value];

  const aws = { region: REGION, credentials: CREDENTIALS };
  const dynamoClient = new DynamoDBClient({ ...aws, endpoint: dynamo.endpoint });
  const doc = DynamoDBDocumentClient.from(dynamoClient, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sns = new SNSClient({ ...aws, endpoint: moto.endpoint });
  const sqs = new SQSClient({ ...aws, endpoint: moto.endpoint });
  const ssm = new SSMClient({ ...aws, endpoint: moto.endpoint });
  stops.push(() => {
    for (const client of [doc, dynamoClient, sns, sqs, ssm]) client.destroy();
    return Promise.resolve();
  });

  await createTable(dynamoClient, NAME);
  const topic = await createTopicWithQueue({ sns, sqs, name: NAME });
  const webhooks = await startWebhooks({
    sns,
    sqs,
    sqsConfig: { ...aws, endpoint: moto.endpoint },
    ssm,
    dynamo: doc,
    tableName: NAME,
    topicArn: topic.topicArn,
    print: (line) => process.stdout.write(`${line}\n`),
    log: briefLog(process.stderr),
  });
  // Before the clients are destroyed: the event sources use them until they stop.
  stops.push(() => webhooks.local.close());
  const nowS = toUnixSeconds(Date.now());
  const config = loadConfig(
    simulatorUrl === undefined
      ? {
          ...process.env,
          POLL_INTERVAL_SECONDS: process.env.POLL_INTERVAL_SECONDS ?? LOCAL_INTERVAL_S,
          TABLE_NAME: NAME,
          TOPIC_ARN: topic.topicArn,
          // Weiban's limits are per corp: leave room for a deployed poller of the same corp
          // (docs/guarantees.md#g4).
          WEIBAN_MAX_IN_FLIGHT: process.env.WEIBAN_MAX_IN_FLIGHT ?? '2',
          WEIBAN_MAX_PER_MINUTE: process.env.WEIBAN_MAX_PER_MINUTE ?? '200',
        }
      : {
          ...process.env,
          POLL_INTERVAL_SECONDS: process.env.POLL_INTERVAL_SECONDS ?? LOCAL_INTERVAL_S,
          WEIBAN_BASE_URL: simulatorUrl,
          WEIBAN_CORP_ID: SIM_CORP.id,
          WEIBAN_SECRET: SIM_CORP.secret,
          WEIBAN_SECRET_PARAM: undefined,
          FORM_IDS: process.env.FORM_IDS ?? [...SIM_FORMS.keys()].join(','),
          START_FROM: process.env.START_FROM ?? String(nowS - HISTORY_S),
          TABLE_NAME: NAME,
          TOPIC_ARN: topic.topicArn,
        },
  );
  if (simulator !== undefined) {
    for (const arrival of arrivals.history(config.formIds, nowS)) {
      simulator.addForm(arrival.formId, SIM_FORMS.get(arrival.formId));
      simulator.submit(arrival.formId, { submit_at: arrival.submitAt });
    }
  }

  const service = createPollService({
    config,
    clients: { dynamo: doc, sns, ssm },
    log: briefLog(process.stderr),
  });
  const handler = pollHandler(service, {
    log: new Logger({ logLevel: 'SILENT' }),
    sink: new Metrics(),
  });
  return {
    config,
    simulator,
    arrivals,
    endpoints: { dynamo: dynamo.endpoint, moto: moto.endpoint },
    webhooks,
    cliEnv: {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SNS: moto.endpoint,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_ENDPOINT_URL_SQS: moto.endpoint,
      TABLE_NAME: NAME,
      // The webhook endpoints for `weiban-forms webhooks …`: names of SSM parameters, the
      // receiver's loopback URL; no key and no secret.
      ...webhooks.local.environment,
      TOPIC_ARN: topic.topicArn,
      // The simulator's credentials only: a real secret is never written to a file
      // (docs/guarantees.md#g9).
      ...(simulatorUrl !== undefined && {
        WEIBAN_BASE_URL: simulatorUrl,
        WEIBAN_CORP_ID: SIM_CORP.id,
        WEIBAN_SECRET: SIM_CORP.secret,
      }),
    },
    invoke: (signal) => {
      const deadline = Date.now() + RUN_BUDGET_MS;
      return handler(
        undefined,
        lambdaContext(() => deadline - Date.now()),
        // The local loop is the schedule: one pass per turn, its events printed at once.
        { singlePass: true, ...(signal !== undefined && { signal }) },
      );
    },
    delivered: async (count) => {
      const messages = await receiveAll(sqs, topic.queueUrl, { expected: count, idleMs: 2_000 });
      return messages.flatMap((message) => {
        const event = formEventSchema.safeParse(message.body);
        return event.success ? [event.data] : [];
      });
    },
  };
}

/** Runs the handler every `intervalMs` until `signal`, while the simulator gains submitters. */
async function keepPolling(local: Local, intervalMs: number, signal: AbortSignal): Promise<void> {
  const arrivals =
    local.simulator === undefined
      ? undefined
      : keepSubmitting(local.simulator, local.arrivals, local.config.formIds, signal);
  try {
    for (let run = 1; !signal.aborted; run += 1) {
      await runOnce(local, run, signal);
      await systemClock.sleep(intervalMs, signal).catch(() => undefined);
    }
  } finally {
    clearInterval(arrivals);
  }
}

/** One run: the delivered events, any form's error, the summary. False if anything failed. */
async function runOnce(local: Local, run: number, signal?: AbortSignal): Promise<boolean> {
  let summary: RunSummary;
  try {
    summary = await local.invoke(signal);
  } catch (error: unknown) {
    if (signal?.aborted === true) return true;
    process.stdout.write(`run ${run} failed: ${explain(error)}\n`);
    return false;
  }
  const { published } = summary.totals;
  const events = published > 0 ? await local.delivered(published) : [];
  events.sort((a, b) => a.data.submit_at - b.data.submit_at || a.id.localeCompare(b.id));
  for (const event of events) process.stdout.write(`${eventLine(event)}\n`);
  for (const form of summary.forms) {
    if (form.error !== undefined) {
      process.stdout.write(`  form ${form.form_id} ${form.outcome}: ${form.error.message}\n`);
    }
  }
  process.stdout.write(`${summaryLine(run, summary)}\n`);
  return summary.forms.every((form) => form.outcome !== 'failed');
}

// For the operator CLI in another terminal (docs/operating.md). Never holds a real secret.
function writeEnvFile(env: Readonly<Record<string, string>>): string {
  const text = Object.entries(env)
    // Quoted for the shell: WEBHOOKS is JSON.
    .map(([key, value]) => `export ${key}='${value.replaceAll("'", "'\\''")}'\n`)
    .join('');
  mkdirSync(dirname(ENV_FILE), { recursive: true });
  writeFileSync(ENV_FILE, text);
  return text;
}

function removeEnvFile(written: string): void {
  try {
    // Another npm start may have written its own since.
    if (readFileSync(ENV_FILE, 'utf8') === written) rmSync(ENV_FILE);
  } catch {
    // Already gone.
  }
}

/** One sentence naming what is missing and how to get it; never a stack trace. */
function startFailure(reason: unknown): string {
  const message = reason instanceof Error ? reason.message : String(reason);
  const code =
    reason instanceof Error && 'code' in reason && typeof reason.code === 'string'
      ? reason.code
      : '';
  if (code === 'EADDRINUSE' || /address already in use/i.test(message)) {
    return 'a port was already in use when a local service started: run npm start again, or stop what holds the port';
  }
  // An emulator's message ends with the tail of its output, cells joined by " | ".
  return message.split(' | ')[0] ?? message;
}

function weibanMode(env: NodeJS.ProcessEnv): Mode {
  const wanted = ['WEIBAN_CORP_ID', 'WEIBAN_SECRET', 'FORM_IDS'] as const;
  const set = wanted.filter((name) => (env[name] ?? '').trim() !== '');
  if (!set.includes('WEIBAN_CORP_ID') && !set.includes('WEIBAN_SECRET')) {
    return { kind: 'simulator' };
  }
  if (set.length < wanted.length) {
    const missing = wanted.filter((name) => !set.includes(name));
    throw new StartError(
      `polling the real Weiban needs WEIBAN_CORP_ID, WEIBAN_SECRET and FORM_IDS; ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set (unset WEIBAN_CORP_ID and WEIBAN_SECRET to use the simulator)`,
    );
  }
  return { kind: 'weiban' };
}

/** New submitters every second or two, now and then a late one inside the lookback. */
function keepSubmitting(
  simulator: WeibanSimulator,
  plan: ArrivalPlan,
  formIds: readonly number[],
  signal: AbortSignal,
): NodeJS.Timeout {
  return setInterval(() => {
    if (signal.aborted) return;
    const arrival = plan.next(formIds, toUnixSeconds(Date.now()));
    if (arrival === undefined) return;
    simulator.submit(
      arrival.formId,
      arrival.submitAt === undefined ? {} : { submit_at: arrival.submitAt },
    );
  }, 1_500);
}

function lambdaContext(getRemainingTimeInMillis: () => number): Context {
  // Context's deprecated callback members are left out: the handler returns a promise.
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis,
    callbackWaitsForEmptyEventLoop: false,
    functionName: NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:${NAME}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${NAME}`,
    logStreamName: 'local',
  };
  return context as Context;
}

/** The handler summary's counts for one run (docs/guarantees.md#handler), on one line. */
function summaryLine(run: number, summary: RunSummary): string {
  const outcomes = new Map<string, number>();
  for (const form of summary.forms)
    outcomes.set(form.outcome, (outcomes.get(form.outcome) ?? 0) + 1);
  const forms = [...outcomes].map(([outcome, count]) => `${count} ${outcome}`).join(', ');
  const { fetched, new: fresh, duplicate, published, failed, pages } = summary.totals;
  return (
    `run ${run} · forms: ${forms} · fetched ${fetched} · new ${fresh} · duplicate ${duplicate} · ` +
    `published ${published} · failed ${failed} · pages ${pages} · ${summary.duration_ms} ms`
  );
}

function printBanner(
  { config, simulator, arrivals, endpoints, webhooks }: Local,
  cliHint: boolean,
): void {
  const start = config.startFrom.mode === 'now' ? 'now' : formatTime(config.startFrom.at);
  const forms = config.formIds.join(', ');
  const lines = [
    '',
    simulator !== undefined
      ? `  Weiban    the simulator at ${config.weibanBaseUrl}: forms ${forms}${cliHint ? ', new submitters every few seconds' : ''} (--seed ${arrivals.seed})`
      : `  Weiban    ${config.weibanBaseUrl}, corp ${config.corpId}, forms ${forms}`,
    `  DynamoDB  DynamoDB Local at ${endpoints.dynamo}, table ${NAME} as serverless.yml defines it`,
    `  SNS       moto at ${endpoints.moto}, topic ${NAME}, SQS queue ${NAME} subscribed`,
    ...webhooks.banner,
    `  Start     forms with no state begin at ${start} (START_FROM)`,
    ...(cliHint
      ? [
          `  CLI       in another terminal: source .local/weiban-forms.env && npx weiban-forms status`,
          '',
          'Ctrl-C stops everything.',
        ]
      : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean' },
        interval: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error: unknown) {
    throw new StartError(
      `${error instanceof Error ? error.message.split('. ')[0] : 'bad arguments'} (try npm start -- --help)`,
    );
  }
  if (values.help === true) return 'help';
  const seconds = Number(values.interval ?? '5');
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3_600) {
    throw new StartError(
      `--interval must be seconds from 1 to 3600; got "${values.interval ?? ''}"`,
    );
  }
  const seed = values.seed === undefined ? randomInt(1, 1_000_000) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new StartError(`--seed must be a whole number; got "${values.seed ?? ''}"`);
  }
  return { once: values.once === true, intervalMs: seconds * 1000, seed };
}

const HELP = `npm start [-- --once] [-- --interval SECONDS] [-- --seed N]

Runs weiban-forms locally: the Weiban simulator, DynamoDB Local and moto, the real handler
every few seconds (default 5), and one line per delivered event; the events also go as
webhooks, through the real deliver handler, to a local receiver that verifies every
signature and to WeCom, Feishu and DingTalk robot fakes, one line per delivery. Ctrl-C
stops everything.
  --once              one run, its webhook deliveries, then exit
  --interval SECONDS  time between runs (default 5)
  --seed N            the simulator's submitters and arrivals of an earlier run (its banner
                      shows the seed); random by default
With WEIBAN_CORP_ID, WEIBAN_SECRET and FORM_IDS set, it polls the real Weiban API instead of
the simulator (DynamoDB Local and moto still stand in for AWS).`;

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `npm start: ${error instanceof StartError ? error.message : explain(error)}\n`,
    );
    process.exitCode = 1;
  },
);
