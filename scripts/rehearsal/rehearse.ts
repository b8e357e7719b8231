import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeTableCommand,
  GetItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import {
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { startMoto, type Service } from '../../dev/emulators.js';
import { WeibanSimulator } from '../../dev/simulator/index.js';
import { receiveAll } from '../../dev/topic.js';
import { eventId, formEventSchema, type FormEvent } from '../../lib/events.js';
import { formPk, STATE_SK, submitterSk } from '../../lib/store/keys.js';
import { motoClients, type MotoClients } from './aws.js';
import { checkStack, inspectStack, readTemplate, type Deployed } from './checks.js';
import { baseEnv, localAwsEnv, OSLS_ENV } from './env.js';
import { check, checkEqual, RehearsalError, tail } from './errors.js';
import { invoke, unpackFunction, type TaskRoot } from './lambda.js';
import { compareGaps, motoTail, skippedTypes } from './moto.js';
import {
  ADDED_FORM,
  CONSUMER_QUEUES,
  CORP_ID,
  FIRST_FORM,
  firstParams,
  paramArgs,
  SECRET,
  SERVICE,
  STACK,
  STAGE,
  updateParams,
  type ConsumerQueue,
  type Params,
} from './plan.js';
import { requireSuccess, run } from './processes.js';
import { prepareService } from './service.js';

export interface Phase {
  readonly title: string;
  readonly ms: number;
}

/** What the rehearsal saw, for the caller (and `--report`) to keep. */
export interface RehearsalReport {
  readonly stack: string;
  readonly region: string;
  readonly phases: readonly Phase[];
  readonly totalMs: number;
  readonly first: Snapshot;
  readonly update: Snapshot;
  /** The event of the one submitter the first poll found, as the probe queue received it. */
  readonly delivered: FormEvent;
  /** The same submitter republished by `weiban-forms replay`. */
  readonly replayed: FormEvent;
  /** What the poll after the update delivered. */
  readonly afterUpdate: readonly FormEvent[];
  /** `weiban-forms status --stage rehearsal --json`, parsed. */
  readonly status: unknown;
  /** After `osls remove`: the table and its form state are still there, the rest is gone. */
  readonly tableRetained: boolean;
  readonly motoSkipped: readonly string[];
  readonly unproven: readonly string[];
  readonly tempDir: string;
}

interface Snapshot {
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly physicalIds: Readonly<Record<string, string>>;
}

export interface RehearsalOptions {
  /** The repository: the service copied, the CLI run, @aws-sdk/* lent to the function. */
  readonly root: string;
  readonly print: (line: string) => void;
  /** Keep the temporary directory (its path is in the report) to look at afterwards. */
  readonly keep?: boolean;
  readonly signal?: AbortSignal;
}

const OSLS_TIMEOUT_MS = 300_000;
const CLI_TIMEOUT_MS = 60_000;
// moto delivers a publish to subscribed queues before it answers; this only confirms none follow.
const QUIET_MS = 1_000;

/**
 * Deploys the stage `rehearsal` into moto with osls, checks the stack, runs the deployed
 * function's configuration, the CLI, an update and a remove. Throws a RehearsalError (one
 * sentence, with the output tails that explain it) at the first thing that is wrong.
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const temp = await mkdtemp(join(tmpdir(), 'weiban-forms-rehearsal-'));
  const rehearsal = new Rehearsal(options, temp);
  try {
    return await rehearsal.run();
  } finally {
    await rehearsal.stop();
    if (options.keep !== true) await rm(temp, { recursive: true, force: true });
  }
}

interface Probe {
  readonly queueUrl: string;
  readonly subscriptionArn: string;
}

interface Stage {
  readonly deployed: Deployed;
  readonly unproven: ReadonlySet<string>;
  readonly scheduleRuleArn: string;
}

class Rehearsal {
  readonly #options: RehearsalOptions;
  readonly #temp: string;
  readonly #phases: Phase[] = [];
  readonly #stops: (() => Promise<void>)[] = [];
  #motoOutput = '';
  #lastOsls = '';

  constructor(options: RehearsalOptions, temp: string) {
    this.#options = options;
    this.#temp = temp;
  }

  async run(): Promise<RehearsalReport> {
    const started = performance.now();
    const { root } = this.#options;
    const serviceDir = join(this.#temp, 'service');
    const tmp = join(this.#temp, 'tmp');
    await mkdir(tmp);

    const { region } = await this.#phase('copy the service with the rehearsal config', () =>
      prepareService(root, serviceDir),
    );
    const { moto, simulator } = await this.#phase('start moto and the Weiban simulator', () =>
      this.#start(),
    );
    const aws = motoClients(moto.endpoint, region);
    this.#stops.push(() => {
      aws.destroy();
      return Promise.resolve();
    });
    const childAws = { ...baseEnv(tmp), ...localAwsEnv(moto.endpoint, region) };

    const queueArns = await this.#phase('create the sqs subscribers’ queues in moto', () =>
      this.#createQueues(aws),
    );
    const queueArn = (queue: ConsumerQueue): string => queueArns.get(queue) ?? '';
    const first = firstParams(queueArn);
    const update = updateParams(queueArn);

    const osls = async (command: 'deploy' | 'remove', params: Params) => {
      const finished = await run(
        process.execPath,
        [
          join(root, 'node_modules', 'osls', 'bin', 'serverless.js'),
          command,
          '--stage',
          STAGE,
          ...paramArgs(params),
        ],
        {
          cwd: serviceDir,
          env: { ...childAws, ...OSLS_ENV },
          timeoutMs: OSLS_TIMEOUT_MS,
          signal: this.#options.signal,
        },
      );
      this.#lastOsls = finished.output;
      requireSuccess(finished, `osls ${command} --stage ${STAGE}`, 'osls output');
    };
    const inspect = async (params: Params): Promise<Stage> => {
      const template = await readTemplate(
        join(serviceDir, '.serverless', 'cloudformation-template-update-stack.json'),
      );
      const deployed = await inspectStack(aws);
      const { unproven, scheduleRuleArn } = await checkStack(aws, deployed, template, params);
      return { deployed, unproven, scheduleRuleArn };
    };
    const unpack = (deployed: Deployed, name: string): Promise<TaskRoot> =>
      unpackFunction(
        join(serviceDir, '.serverless', `${SERVICE}.zip`),
        join(this.#temp, name),
        deployed.fn,
        root,
      );
    const poll = (stage: Stage, task: TaskRoot) =>
      invoke({
        fn: stage.deployed.fn,
        task,
        base: childAws,
        overrides: { WEIBAN_BASE_URL: simulator.url },
        event: scheduledEvent(stage, region),
        signal: this.#options.signal,
      }).then(summaryOf);

    // The first version.
    await this.#phase(`osls deploy --stage ${STAGE}`, () => osls('deploy', first));
    const one = await this.#phase('check the stack against the template', () => inspect(first));
    const { outputs } = one.deployed;
    const tableName = outputs.FormsTableName ?? '';
    const topicArn = outputs.EventsTopicArn ?? '';

    const { probe, delivered } = await this.#phase(
      'run the deployed function’s configuration: two polls',
      async () => {
        const task = await unpack(one.deployed, 'function-first');
        await this.#putSecret(aws, one.deployed);
        const probe = await this.#subscribeProbe(aws, topicArn);
        expectOutcomes(
          await poll(one, task),
          [{ form_id: FIRST_FORM, outcome: 'initialized', published: 0 }],
          'the first poll (START_FROM=now)',
        );
        const row = simulator.submit(FIRST_FORM);
        expectOutcomes(
          await poll(one, task),
          [{ form_id: FIRST_FORM, outcome: 'ok', published: 1 }],
          'the second poll',
        );
        const [event] = await this.#received(aws, probe, 1, 'the second poll');
        checkEqual(event?.id, eventId(CORP_ID, FIRST_FORM, row.u_id), 'the delivered event id');
        checkEqual(event?.data.submit_at, row.submit_at, 'the delivered event’s submit_at');
        return { probe, delivered: event as FormEvent };
      },
    );

    const { status, replayed } = await this.#phase(
      `weiban-forms status and replay --stage ${STAGE}`,
      async () => {
        const cli = async (...args: string[]) => {
          const finished = await run(
            process.execPath,
            [join(root, 'bin', 'weiban-forms.js'), ...args],
            {
              cwd: root,
              env: childAws,
              timeoutMs: CLI_TIMEOUT_MS,
              signal: this.#options.signal,
            },
          );
          return requireSuccess(finished, `weiban-forms ${args.join(' ')}`, 'weiban-forms output');
        };
        const state = await getItem(aws, tableName, formPk(FIRST_FORM), STATE_SK);
        // Two CLI processes at once: each spends most of its time starting.
        const [statusRun] = await Promise.all([
          cli('status', '--stage', STAGE, '--json'),
          cli(
            'replay',
            '--stage',
            STAGE,
            '--form',
            String(FIRST_FORM),
            '--u-id',
            String(delivered.data.u_id),
          ),
        ]);
        const shown = parseJson(statusRun.stdout, 'weiban-forms status --json');
        checkStatus(shown, tableName, region, Number(state?.cursor?.N));
        const [replayed] = await this.#received(aws, probe, 1, 'weiban-forms replay');
        checkEqual(replayed, delivered, 'the replayed event');
        return { status: shown, replayed: replayed as FormEvent };
      },
    );

    // The update: state in the table, then formIds and the subscriptions change.
    const before = await this.#phase(`osls deploy --stage ${STAGE} (update)`, async () => {
      const kept = await this.#keep(aws, tableName, delivered.data.u_id);
      await osls('deploy', update);
      return kept;
    });
    const two = await this.#phase(
      'check the updated stack: nothing replaced, state intact',
      async () => {
        const stage = await inspect(update);
        await this.#checkUpdate(aws, one.deployed, stage.deployed, before, probe);
        return stage;
      },
    );
    const afterUpdate = await this.#phase('poll with the updated configuration', async () => {
      const task = await unpack(two.deployed, 'function-update');
      const row = simulator.submit(FIRST_FORM);
      simulator.submit(ADDED_FORM, { submit_at: Math.floor(Date.now() / 1000) - 60 });
      expectOutcomes(
        await poll(two, task),
        [
          { form_id: FIRST_FORM, outcome: 'ok', published: 1 },
          { form_id: ADDED_FORM, outcome: 'initialized', published: 0 },
        ],
        'the poll after the update',
      );
      const events = await this.#received(aws, probe, 1, 'the poll after the update');
      checkEqual(
        events[0]?.id,
        eventId(CORP_ID, FIRST_FORM, row.u_id),
        'the event after the update',
      );
      const state = await getItem(aws, tableName, formPk(FIRST_FORM), STATE_SK);
      checkEqual(
        state?.origin,
        before.state.origin,
        `form ${FIRST_FORM}'s origin after the update`,
      );
      check(
        Number(state?.cursor?.N) >= Number(before.state.cursor?.N),
        `form ${FIRST_FORM}'s cursor went back after the update`,
      );
      return events;
    });

    await this.#phase(`osls remove --stage ${STAGE}`, () => osls('remove', update));
    const tableRetained = await this.#phase('check what remove left: the table, and only it', () =>
      this.#checkRemoved(aws, two.deployed, before),
    );

    const { motoSkipped, unproven } = await this.#phase(
      'compare what moto skipped with what the rehearsal expects',
      () => {
        const motoSkipped = skippedTypes(this.#motoOutput);
        const unproven = [...new Set([...one.unproven, ...two.unproven])].sort();
        compareGaps(motoSkipped, unproven);
        return Promise.resolve({ motoSkipped, unproven });
      },
    );

    return {
      stack: STACK,
      region,
      phases: this.#phases,
      totalMs: performance.now() - started,
      first: snapshot(one.deployed),
      update: snapshot(two.deployed),
      delivered,
      replayed,
      afterUpdate,
      status,
      tableRetained,
      motoSkipped,
      unproven,
      tempDir: this.#temp,
    };
  }

  async stop(): Promise<void> {
    for (let next = this.#stops.pop(); next !== undefined; next = this.#stops.pop()) {
      await next().catch(() => undefined);
    }
  }

  async #phase<T>(title: string, work: () => Promise<T>): Promise<T> {
    if (this.#options.signal?.aborted === true)
      throw new RehearsalError('the rehearsal was interrupted');
    const { print } = this.#options;
    print(`▸ ${title} …`);
    const started = performance.now();
    try {
      const result = await work();
      const ms = performance.now() - started;
      this.#phases.push({ title, ms });
      print(`✓ ${title} (${seconds(ms)})`);
      return result;
    } catch (error: unknown) {
      print(`✗ ${title} (${seconds(performance.now() - started)})`);
      throw this.#explained(error);
    }
  }

  /** The error as one sentence, with the tails of osls's and moto's output that explain it. */
  #explained(error: unknown): RehearsalError {
    return explained(error, { osls: this.#lastOsls, moto: this.#motoOutput });
  }

  async #start(): Promise<{ moto: Service; simulator: WeibanSimulator }> {
    const moto = await startMoto({
      onOutput: (text) => {
        this.#motoOutput += text;
      },
    });
    this.#stops.push(() => moto.stop());
    const simulator = new WeibanSimulator({ corpId: CORP_ID, secret: SECRET });
    await simulator.start();
    this.#stops.push(() => simulator.stop());
    return { moto, simulator };
  }

  async #createQueues(aws: MotoClients): Promise<Map<ConsumerQueue, string>> {
    const arns = new Map<ConsumerQueue, string>();
    for (const name of CONSUMER_QUEUES) arns.set(name, (await createQueue(aws, name)).arn);
    return arns;
  }

  /** The Weiban secret, where the function's WEIBAN_SECRET_PARAM says (README "Deploying", step 1). */
  async #putSecret(aws: MotoClients, deployed: Deployed): Promise<void> {
    const name = deployed.fn.env.WEIBAN_SECRET_PARAM;
    check(name !== undefined && name !== '', 'the function has no WEIBAN_SECRET_PARAM');
    await aws.ssm.send(
      new PutParameterCommand({ Name: name, Type: 'SecureString', Value: SECRET, Overwrite: true }),
    );
  }

  /** A queue subscribed to the events topic directly: moto's CloudFormation skips subscriptions. */
  async #subscribeProbe(aws: MotoClients, topicArn: string): Promise<Probe> {
    const queue = await createQueue(aws, 'rehearsal-probe');
    const { SubscriptionArn: subscriptionArn } = await aws.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queue.arn,
        ReturnSubscriptionArn: true,
      }),
    );
    check(subscriptionArn !== undefined, `Subscribe to ${topicArn} returned no subscription ARN`);
    return { queueUrl: queue.url, subscriptionArn };
  }

  /** Exactly `count` events, checked against the event schema. */
  async #received(
    aws: MotoClients,
    probe: Probe,
    count: number,
    after: string,
  ): Promise<FormEvent[]> {
    const messages = await receiveAll(aws.sqs, probe.queueUrl, {
      expected: count + 1,
      idleMs: QUIET_MS,
    });
    check(
      messages.length === count,
      `the probe queue received ${messages.length} event(s) after ${after}, expected ${count}`,
    );
    return messages.map((message, index) => {
      const parsed = formEventSchema.safeParse(message.body);
      if (!parsed.success) {
        throw new RehearsalError(
          `event #${index + 1} after ${after} does not match the event schema: ${parsed.error.message}`,
        );
      }
      checkEqual(
        message.attributes.form_id,
        { Type: 'Number', Value: String(parsed.data.data.form_id) },
        'the form_id message attribute',
      );
      return parsed.data;
    });
  }

  /** What must come through the update unchanged. */
  async #keep(aws: MotoClients, tableName: string, uId: number): Promise<Kept> {
    const { Table: table } = await aws.dynamo.send(
      new DescribeTableCommand({ TableName: tableName }),
    );
    const state = await getItem(aws, tableName, formPk(FIRST_FORM), STATE_SK);
    const record = await getItem(aws, tableName, formPk(FIRST_FORM), submitterSk(uId));
    check(state !== undefined, `form ${FIRST_FORM} has no state before the update`);
    check(
      record !== undefined,
      `form ${FIRST_FORM} has no record of u_id ${uId} before the update`,
    );
    return {
      tableName,
      tableCreated: table?.CreationDateTime?.getTime(),
      state,
      record,
      uId,
    };
  }

  async #checkUpdate(
    aws: MotoClients,
    first: Deployed,
    updated: Deployed,
    before: Kept,
    probe: Probe,
  ): Promise<void> {
    check(updated.status === 'UPDATE_COMPLETE', `${STACK} is ${updated.status} after the update`);
    for (const logicalId of [
      'FormsTable',
      'EventsTopic',
      'EventsKey',
      'AlarmTopic',
      'EventsSubscriptionCrmDlq',
    ]) {
      checkEqual(
        updated.physicalIds[logicalId],
        first.physicalIds[logicalId],
        `${logicalId}'s physical id after the update (a change means it was replaced)`,
      );
    }
    const { Table: table } = await aws.dynamo.send(
      new DescribeTableCommand({ TableName: before.tableName }),
    );
    checkEqual(
      table?.CreationDateTime?.getTime(),
      before.tableCreated,
      'the table’s creation time after the update',
    );
    checkEqual(
      await getItem(aws, before.tableName, formPk(FIRST_FORM), STATE_SK),
      before.state,
      `form ${FIRST_FORM}'s state after the update (a redeploy must not touch a cursor)`,
    );
    checkEqual(
      await getItem(aws, before.tableName, formPk(FIRST_FORM), submitterSk(before.uId)),
      before.record,
      `the record of u_id ${before.uId} after the update`,
    );
    const { Subscriptions: subscriptions = [] } = await aws.sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: updated.outputs.EventsTopicArn }),
    );
    check(
      subscriptions.some((each) => each.SubscriptionArn === probe.subscriptionArn),
      'the probe’s subscription is gone after the update: the events topic was replaced',
    );
  }

  async #checkRemoved(aws: MotoClients, deployed: Deployed, before: Kept): Promise<boolean> {
    const stackGone = await aws.cloudFormation
      .send(new DescribeStacksCommand({ StackName: STACK }))
      .then(
        (out) => out.Stacks?.every((each) => each.StackStatus === 'DELETE_COMPLETE') ?? true,
        (error: unknown) => error instanceof Error && /does not exist/.test(error.message),
      );
    check(stackGone, `${STACK} still exists after osls remove`);
    const state = await getItem(aws, before.tableName, formPk(FIRST_FORM), STATE_SK);
    check(
      state !== undefined,
      `the table ${before.tableName} or its form state is gone after osls remove (DeletionPolicy: Retain)`,
    );
    const topicGone = await aws.sns
      .send(new GetTopicAttributesCommand({ TopicArn: deployed.outputs.EventsTopicArn }))
      .then(
        () => false,
        () => true,
      );
    check(topicGone, 'the events topic is still there after osls remove');
    const functionGone = await aws.lambda
      .send(new GetFunctionConfigurationCommand({ FunctionName: deployed.fn.name }))
      .then(
        () => false,
        () => true,
      );
    check(functionGone, 'the function is still there after osls remove');
    // The webhook queues go with the stack (what they still held is lost with them).
    for (const [output, url] of Object.entries(deployed.outputs)) {
      if (!/^Webhook\w+(Queue|Dlq)Url$/.test(output)) continue;
      const queueGone = await aws.sqs
        .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
        .then(
          () => false,
          () => true,
        );
      check(queueGone, `the queue of ${output} is still there after osls remove`);
    }
    return true;
  }
}

interface Kept {
  readonly tableName: string;
  readonly tableCreated: number | undefined;
  readonly state: Record<string, AttributeValue>;
  readonly record: Record<string, AttributeValue>;
  readonly uId: number;
}

async function createQueue(aws: MotoClients, name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl: url } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
  check(url !== undefined, `CreateQueue ${name} returned no URL`);
  const { Attributes: attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = attributes?.QueueArn;
  check(arn !== undefined, `GetQueueAttributes ${name} returned no QueueArn`);
  return { url, arn };
}

async function getItem(
  aws: MotoClients,
  tableName: string,
  pk: string,
  sk: string,
): Promise<Record<string, AttributeValue> | undefined> {
  const { Item: item } = await aws.dynamo.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: pk }, sk: { S: sk } },
      ConsistentRead: true,
    }),
  );
  return item;
}

/** The event EventBridge sends for a schedule tick. */
function scheduledEvent(stage: Stage, region: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: stage.deployed.fn.arn.split(':')[4],
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [stage.scheduleRuleArn],
    detail: {},
  };
}

interface Outcome {
  readonly form_id: number;
  readonly outcome: string;
  readonly published: number;
}

/** The handler's result (its run summary): how many passes it made, and its per-form lines. */
interface Invocation {
  readonly passes: number;
  readonly forms: Outcome[];
}

function summaryOf(result: unknown): Invocation {
  const { forms, passes } = (typeof result === 'object' && result !== null ? result : {}) as {
    forms?: unknown;
    passes?: unknown;
  };
  if (!Array.isArray(forms)) {
    throw new RehearsalError(`the handler answered ${JSON.stringify(result)}, not a run summary`);
  }
  return {
    passes: typeof passes === 'number' ? passes : 1,
    forms: forms.map((form: unknown) => {
      const { form_id, outcome, published } = (form ?? {}) as Partial<Outcome>;
      return { form_id: Number(form_id), outcome: String(outcome), published: Number(published) };
    }),
  };
}

/**
 * Checks each form's line of an invocation. The deployed function polls in passes until the
 * next invocation is due (POLL_INTERVAL_SECONDS), and each form's line is its last pass's: a
 * form the first pass started reads `ok` once a later pass has polled it again.
 */
function expectOutcomes(actual: Invocation, expected: Outcome[], what: string): void {
  const order = (list: Outcome[]) => [...list].sort((a, b) => a.form_id - b.form_id);
  const asMerged = expected.map((form) =>
    form.outcome === 'initialized' && actual.passes > 1 ? { ...form, outcome: 'ok' } : form,
  );
  checkEqual(order(actual.forms), order(asMerged), `the forms of ${what}`);
}

function checkStatus(shown: unknown, tableName: string, region: string, cursor: number): void {
  const { target, table, forms } = (shown ?? {}) as {
    target?: unknown;
    table?: unknown;
    forms?: unknown;
  };
  checkEqual(target, `stack ${STACK} (${region})`, 'the target weiban-forms status names');
  checkEqual(table, tableName, 'the table weiban-forms status read');
  const rows = Array.isArray(forms) ? (forms as Record<string, unknown>[]) : [];
  checkEqual(
    rows.map(({ form_id, started, recorded, cursor_unix }) => ({
      form_id,
      started,
      recorded,
      cursor_unix,
    })),
    [{ form_id: FIRST_FORM, started: true, recorded: 1, cursor_unix: cursor }],
    'the forms weiban-forms status shows',
  );
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RehearsalError(`${what} printed no JSON`, {
      tails: [{ label: what, text: tail(text, 20) }],
    });
  }
}

function snapshot(deployed: Deployed): Snapshot {
  return { status: deployed.status, outputs: deployed.outputs, physicalIds: deployed.physicalIds };
}

/**
 * A failure as a RehearsalError: its own if it is one, else the error's message. Adds the tail
 * of moto's output (its errors and tracebacks) and, for an error with no tails of its own
 * (an SDK call that failed, say), the tail of the last osls run.
 */
export function explained(
  error: unknown,
  output: { readonly osls: string; readonly moto: string },
): RehearsalError {
  const failure =
    error instanceof RehearsalError
      ? error
      : new RehearsalError(
          error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          {
            cause: error,
            tails:
              output.osls === '' ? [] : [{ label: 'osls output', text: tail(output.osls, 20) }],
          },
        );
  const moto = motoTail(output.moto, 20);
  if (moto !== '' && !failure.tails.some((each) => each.label === 'moto output')) {
    failure.tails.push({ label: 'moto output', text: moto });
  }
  return failure;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
