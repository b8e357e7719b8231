import { randomUUID } from 'node:crypto';
import {
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  InternalErrorException,
  SNSClient,
  ThrottledException,
  type PublishBatchCommandOutput,
} from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { WeibanSimulator } from '../../../dev/simulator/index.js';
import type { VirtualClock } from '../../../dev/virtual-clock.js';
import type { Config } from '../../../lib/config.js';
import { pollHandler } from '../../../lib/handler.js';
import type { RunSummary } from '../../../lib/model.js';
import { metrics } from '../../../lib/observability.js';
import { LEASE_FLOOR_MS } from '../../../lib/poll/form-run.js';
import { createPollService } from '../../../lib/service.js';
import type { CrashPoint, DynamoFault, SnsFault, Step, WeibanFault } from './schedule.js';

/** Thrown into a process at its crash point and on every call it tries afterwards. */
export class ProcessDied extends Error {
  override readonly name = 'ProcessDied';
}

type Kind = CrashPoint['at'];

/** The faults armed for one step; shared by every process that runs in it. */
export class FaultPlan {
  weiban: { fault: WeibanFault; nth: number }[] = [];
  sns: { fault: SnsFault; times: number } = { fault: 'none', times: 0 };
  dynamo: { fault: DynamoFault; nth: number } = { fault: 'none', nth: 0 };
  listCalls = 0;
  injected10053 = 0;
  readonly #dynamoSeen = new Map<DynamoFault, number>();

  arm(step: Step): void {
    this.weiban = [...step.weiban];
    this.sns = { ...step.sns };
    this.dynamo = { ...step.dynamo };
    this.listCalls = 0;
    this.#dynamoSeen.clear();
  }

  disarm(): void {
    this.weiban = [];
    this.sns = { fault: 'none', times: 0 };
    this.dynamo = { fault: 'none', nth: 0 };
  }

  /** True when this DynamoDB call is the one the plan fails. */
  dynamoHits(kind: DynamoFault): boolean {
    if (this.dynamo.fault !== kind) return false;
    const seen = (this.#dynamoSeen.get(kind) ?? 0) + 1;
    this.#dynamoSeen.set(kind, seen);
    return seen === this.dynamo.nth;
  }
}

/** Every publish SNS accepted and every record written, in the order they happened. */
export type Journal = {
  readonly kind: 'publish' | 'record';
  readonly id: string;
  readonly process: LambdaProcess;
}[];

export interface ProcessOptions {
  readonly journal: Journal;
  readonly config: Config;
  readonly clock: VirtualClock;
  /** How much faster than real time the clock runs: the fault's times scale with it. */
  readonly scale?: number;
  readonly simulator: WeibanSimulator;
  readonly plan: FaultPlan;
  readonly dynamoEndpoint: string;
  readonly motoEndpoint: string;
  readonly logs: string[];
}

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * One Lambda execution environment: its own SDK clients, limiter and token cache. Faults
 * come from the step's plan; a crash kills it, after which it makes no call at all, as a
 * dead process would not.
 */
export class LambdaProcess {
  readonly id = randomUUID().slice(0, 8);
  dead = false;
  /** Died by an injected crash or the Lambda deadline, possibly between a publish and its record. */
  crashed = false;
  /** Killed by the Lambda deadline rather than an injected crash. */
  timedOut = false;
  /** An injected DynamoDB failure hit a record write after a publish. */
  recordFault = false;
  crash: CrashPoint | null = null;
  readonly #counts: Record<Kind, number> = { list: 0, publish: 0, record: 0, commit: 0 };
  readonly #o: ProcessOptions;
  readonly #invoke: (event: unknown, context: Context) => Promise<RunSummary>;
  readonly #clients: { base: DynamoDBClient; doc: DynamoDBDocumentClient; sns: SNSClient };

  constructor(options: ProcessOptions) {
    this.#o = options;
    const base = new DynamoDBClient({ region, credentials, endpoint: options.dynamoEndpoint });
    const doc = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const sns = new SNSClient({ region, credentials, endpoint: options.motoEndpoint });
    this.#clients = { base, doc, sns };
    this.#instrumentDynamo(base);
    this.#instrumentSns(sns);
    const log =
      (level: string) =>
      (message: string, ...extra: unknown[]) => {
        options.logs.push(`${level} ${message} ${JSON.stringify(extra)}`);
      };
    const quiet = {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    };
    const service = createPollService({
      config: options.config,
      clients: {
        dynamo: doc,
        sns,
        ssm: new SSMClient({ region, credentials, endpoint: 'http://127.0.0.1:9' }),
      },
      log: quiet,
      clock: options.clock,
      fetch: this.#fetch,
      retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
      // On a faster clock, a lease lasts as much real time as in production.
      leaseFloorMs: LEASE_FLOOR_MS * (options.scale ?? 1),
    });
    this.#invoke = pollHandler(service, {
      log: quiet,
      sink: metrics,
      now: () => options.clock.now(),
    });
  }

  /**
   * One invocation of `event` with `remainingMs` of Lambda time; Lambda kills the process at the
   * deadline.
   */
  async invoke(remainingMs: number, event?: unknown): Promise<RunSummary | undefined> {
    if (this.dead) throw new Error('a dead process cannot be invoked');
    // A crash point counts calls within this invocation.
    for (const kind of Object.keys(this.#counts) as Kind[]) this.#counts[kind] = 0;
    // On the schedule's clock: a schedule of sub-minute passes runs it faster than real time.
    const { clock } = this.#o;
    const deadline = clock.now() + remainingMs;
    const killer = new AbortController();
    void clock.sleep(remainingMs, killer.signal).then(
      () => {
        this.timedOut = true;
        this.#die();
      },
      () => undefined,
    );
    try {
      const context = {
        awsRequestId: randomUUID(),
        getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
      } as Context;
      return await this.#invoke(event, context);
    } catch (error: unknown) {
      this.#o.logs.push(
        `invocation failed ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    } finally {
      killer.abort();
    }
  }

  destroy(): void {
    this.#clients.doc.destroy();
    this.#clients.base.destroy();
    this.#clients.sns.destroy();
  }

  #killed(): boolean {
    return this.dead;
  }

  #die(): void {
    this.dead = true;
    this.crashed = true;
  }

  /** Crash point handling around one call of `kind`. */
  async #step<T>(kind: Kind, call: () => Promise<T>): Promise<T> {
    if (this.dead) throw new ProcessDied(`process ${this.id} is dead`);
    const crash = this.crash;
    const nth = (this.#counts[kind] += 1);
    const here = crash !== null && crash.at === kind && crash.nth === nth;
    if (here && crash.when === 'before') {
      this.#die();
      throw new ProcessDied(`crash before ${kind} #${nth}`);
    }
    const result = await call();
    if (here && crash.when === 'after') {
      this.#die();
      throw new ProcessDied(`crash after ${kind} #${nth}`);
    }
    // The Lambda deadline may have killed the process while the call was out.
    if (this.#killed()) throw new ProcessDied(`process ${this.id} died during ${kind}`);
    return result;
  }

  readonly #fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!url.pathname.endsWith('/smart_form/form/user/list')) {
      if (this.dead) throw new ProcessDied(`process ${this.id} is dead`);
      return fetch(input, init);
    }
    return this.#step('list', () => {
      const plan = this.#o.plan;
      plan.listCalls += 1;
      for (const { fault } of plan.weiban.filter((armed) => armed.nth === plan.listCalls))
        this.#armWeiban(fault);
      return fetch(input, init);
    });
  };

  #armWeiban(fault: WeibanFault): void {
    const { simulator, plan } = this.#o;
    switch (fault) {
      case 'revoke':
        simulator.revokeTokens();
        return;
      case '10052':
      case '10053':
      case '21902':
        if (fault === '10053') plan.injected10053 += 1;
        simulator.fault({ kind: 'errcode', errcode: Number(fault), endpoint: 'list' });
        return;
      case 'html502':
        simulator.fault({ kind: 'html502', endpoint: 'list' });
        return;
      case 'nonjson':
        simulator.fault({ kind: 'truncated', endpoint: 'list' });
        return;
      case 'slow':
        simulator.fault({ kind: 'slow', delayMs: 2_500 * (this.#o.scale ?? 1), endpoint: 'list' });
        return;
    }
  }

  #instrumentDynamo(base: DynamoDBClient): void {
    base.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const kind = dynamoKind(context.commandName ?? '', input);
        const plan = this.#o.plan;
        const faultFor = (fault: DynamoFault): boolean => plan.dynamoHits(fault);
        const run = async () => {
          if (this.dead) throw new ProcessDied(`process ${this.id} is dead`);
          if (kind === 'read' && faultFor('throttle-read')) throw throttled();
          if (kind === 'lease' && faultFor('throttle-lease')) throw throttled();
          if (kind === 'commit' && faultFor('throttle-commit')) throw throttled();
          if (kind === 'record' && faultFor('record-after-publish')) {
            this.recordFault = true;
            throw new InternalServerError({
              message: 'injected: record write failed',
              $metadata: {},
            });
          }
          const out = await next(args);
          if (kind === 'record') {
            for (const id of recordedIds(this.#o.config.corpId, input))
              this.#o.journal.push({ kind: 'record', id, process: this });
          }
          return out;
        };
        return kind === 'record' || kind === 'commit' ? this.#step(kind, run) : run();
      },
      { step: 'initialize', name: 'faultInjection' },
    );
  }

  #instrumentSns(sns: SNSClient): void {
    sns.middlewareStack.add(
      (next) => async (args) => {
        const plan = this.#o.plan;
        return this.#step('publish', async () => {
          const input = args.input as {
            PublishBatchRequestEntries?: { Id?: string; Message?: string }[];
          };
          const entries = input.PublishBatchRequestEntries ?? [];
          const fault = plan.sns.times > 0 ? plan.sns.fault : 'none';
          if (fault !== 'none') plan.sns.times -= 1;
          if (fault === 'batch')
            throw new InternalErrorException({ message: 'injected: SNS is down', $metadata: {} });
          if (fault === 'throttle')
            throw new ThrottledException({ message: 'injected: Rate exceeded', $metadata: {} });
          // A partial failure: SNS takes some entries and refuses the rest, which it never delivers.
          const refused = fault === 'partial' ? entries.filter((_, index) => index % 2 === 1) : [];
          const sent = entries.filter((entry) => !refused.includes(entry));
          const out = await next({
            ...args,
            input: { ...input, PublishBatchRequestEntries: sent },
          });
          const output = out.output as PublishBatchCommandOutput;
          const ok = new Set((output.Successful ?? []).map((entry) => entry.Id));
          for (const entry of sent) {
            if (ok.has(entry.Id))
              this.#o.journal.push({
                kind: 'publish',
                id: eventIdOf(entry.Message),
                process: this,
              });
          }
          output.Failed = [
            ...(output.Failed ?? []),
            ...refused.map((entry) => ({
              Id: entry.Id,
              Code: 'InternalError',
              SenderFault: false,
              Message: 'injected',
            })),
          ];
          return out;
        });
      },
      { step: 'initialize', name: 'faultInjection' },
    );
  }
}

const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: 'injected: throughput exceeded',
    $metadata: {},
  });

function dynamoKind(
  command: string,
  input: Record<string, unknown>,
): 'read' | 'lease' | 'record' | 'commit' | 'other' {
  if (command === 'BatchGetItemCommand') return 'read';
  if (command === 'BatchWriteItemCommand') return 'record';
  if (command === 'TransactWriteItemsCommand') return 'commit';
  if (command === 'UpdateItemCommand' && skOf(input.Key) === 'STATE') {
    const expression = typeof input.UpdateExpression === 'string' ? input.UpdateExpression : '';
    return expression.startsWith('SET lease_owner') ? 'lease' : 'commit';
  }
  return 'other';
}

function skOf(key: unknown): string | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  const sk: unknown = (key as Record<string, unknown>).sk;
  if (typeof sk === 'string') return sk;
  if (typeof sk === 'object' && sk !== null && typeof (sk as { S?: unknown }).S === 'string')
    return (sk as { S: string }).S;
  return undefined;
}

function recordedIds(corpId: string, input: Record<string, unknown>): string[] {
  const requests = Object.values(
    (input.RequestItems ?? {}) as Record<
      string,
      { PutRequest?: { Item?: Record<string, unknown> } }[]
    >,
  );
  return requests.flat().flatMap((request) => {
    const item = request.PutRequest?.Item;
    const formId = numberOf(item?.form_id);
    const uId = numberOf(item?.u_id);
    return formId === undefined || uId === undefined ? [] : [`weiban:${corpId}:${formId}:${uId}`];
  });
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { N?: unknown }).N === 'string'
  ) {
    return Number((value as { N: string }).N);
  }
  return undefined;
}

function eventIdOf(message: string | undefined): string {
  const parsed = JSON.parse(message ?? '{}') as { id?: unknown };
  return typeof parsed.id === 'string' ? parsed.id : 'unknown';
}

export interface StoredState {
  readonly cursor: number;
  readonly origin: number;
}

/** The form states as they are in the table now. */
export async function readStates(
  doc: DynamoDBDocumentClient,
  tableName: string,
  formIds: readonly number[],
): Promise<Map<number, StoredState>> {
  const out = await doc.send(
    new BatchGetCommand({
      RequestItems: {
        [tableName]: {
          Keys: formIds.map((id) => ({ pk: `FORM#${id}`, sk: 'STATE' })),
          ConsistentRead: true,
        },
      },
    }),
  );
  const states = new Map<number, StoredState>();
  for (const item of out.Responses?.[tableName] ?? []) {
    states.set(Number(item.form_id), { cursor: Number(item.cursor), origin: Number(item.origin) });
  }
  return states;
}
