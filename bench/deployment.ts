import { randomUUID } from 'node:crypto';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { WeibanSimulator, type SimulatorOptions } from '../dev/simulator/index.js';
import { createTable } from '../dev/table.js';
import { VirtualClock } from '../dev/virtual-clock.js';
import { loadConfig, type Config } from '../lib/config.js';
import { pollHandler } from '../lib/handler.js';
import type { RunSummary } from '../lib/model.js';
import { logger, metrics } from '../lib/observability.js';
import type { Log } from '../lib/ports.js';
import {
  createPollService,
  createWeiban,
  type PollService,
  type WeibanSide,
} from '../lib/service.js';
import { awsClients, type AwsClients } from '../test/support/aws.js';
import { lambdaContext } from '../test/support/lambda-context.js';
import { answerPublishBatchInProcess, meterRequests, RequestCounter } from './sdk-meter.js';

/** The deployed function's timeout (serverless.yml custom.poll.timeoutSeconds). */
export const LAMBDA_TIMEOUT_MS = 60_000;

export interface Endpoints {
  readonly dynamo: string;
  readonly moto: string;
}

export interface DeploymentOptions {
  readonly endpoints: Endpoints;
  readonly formIds: readonly number[];
  /** Configuration variables (docs/guarantees.md#config) on top of the deployment's own. */
  readonly env?: Record<string, string>;
  readonly simulator?: SimulatorOptions;
  readonly clock?: VirtualClock;
  /** `moto` publishes for real; `in-process` answers PublishBatch without a network call. */
  readonly sns?: 'moto' | 'in-process';
}

/** What the bench's log saw: warnings and errors are counted and kept, the rest dropped. */
export class BenchLog implements Log {
  readonly problems: { level: 'warn' | 'error'; message: string }[] = [];
  debug = (): void => undefined;
  info = (): void => undefined;
  warn = (message: string): void => {
    this.problems.push({ level: 'warn', message });
  };
  error = (message: string): void => {
    this.problems.push({ level: 'error', message });
  };
}

/**
 * One isolated stack for a benchmark scenario: a table built from serverless.yml in DynamoDB
 * Local, a topic in moto, a Weiban simulator on the shared clock, and SDK clients whose
 * requests are counted. `container()` is a fresh Lambda execution environment.
 */
export class Deployment {
  readonly clock: VirtualClock;
  readonly simulator: WeibanSimulator;
  readonly aws: AwsClients;
  readonly dynamoRequests = new RequestCounter();
  readonly snsRequests = new RequestCounter();
  readonly log = new BenchLog();
  readonly tableName = `bench-${randomUUID().slice(0, 8)}`;
  readonly corpId = 'sim-corp';
  config!: Config;
  /** Every Weiban request the service sent, as [endpoint path, virtual ms]. */
  readonly sends: { path: string; at: number }[] = [];
  readonly #options: DeploymentOptions;

  private constructor(options: DeploymentOptions) {
    this.#options = options;
    this.clock = options.clock ?? new VirtualClock();
    this.simulator = new WeibanSimulator({ clock: this.clock, ...options.simulator });
    this.aws = awsClients({
      dynamoEndpoint: options.endpoints.dynamo,
      snsEndpoint: options.endpoints.moto,
      sqsEndpoint: options.endpoints.moto,
    });
    meterRequests(this.aws.dynamo, this.dynamoRequests);
    meterRequests(this.aws.sns, this.snsRequests);
    if (options.sns === 'in-process') answerPublishBatchInProcess(this.aws.sns);
  }

  static async create(options: DeploymentOptions): Promise<Deployment> {
    const deployment = new Deployment(options);
    await deployment.#setUp();
    return deployment;
  }

  async #setUp(): Promise<void> {
    const url = await this.simulator.start();
    for (const formId of this.#options.formIds) this.simulator.addForm(formId);
    await createTable(this.aws.dynamo, this.tableName);
    const { TopicArn: topicArn } = await this.aws.sns.send(
      new CreateTopicCommand({ Name: this.tableName }),
    );
    if (topicArn === undefined) throw new Error('moto returned no topic ARN');
    this.config = loadConfig({
      WEIBAN_BASE_URL: url,
      WEIBAN_CORP_ID: this.corpId,
      WEIBAN_SECRET: 'sim-secret',
      TABLE_NAME: this.tableName,
      TOPIC_ARN: topicArn,
      // One pass per invocation, as these runs are about one schedule tick each.
      POLL_INTERVAL_SECONDS: '60',
      FORM_IDS: this.#options.formIds.join(','),
      ...this.#options.env,
    });
    this.resetCounts();
  }

  /** Zeroes every counter: SDK requests, Weiban requests seen by the simulator, sends. */
  resetCounts(): void {
    this.dynamoRequests.reset();
    this.snsRequests.reset();
    this.simulator.resetStats();
    this.sends.length = 0;
  }

  /**
   * A fresh execution environment running the real handler: createPollService at "module
   * scope", pollHandler wrapped in middy with the Powertools middlewares functions/poll.ts uses.
   * Each call is one invocation with the function's timeout on the shared clock.
   */
  container(): {
    service: PollService;
    weiban: WeibanSide;
    invoke: () => Promise<RunSummary>;
  } {
    const clock = this.clock;
    const sends = this.sends;
    const countingFetch: typeof fetch = (input, init) => {
      const url =
        input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
      sends.push({ path: url.pathname, at: clock.now() });
      return fetch(input, init);
    };
    const clients = {
      dynamo: this.aws.doc,
      sns: this.aws.sns,
      // The secret is plain text here; SSM is never called.
      ssm: new SSMClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
    };
    const weiban = createWeiban({
      config: this.config,
      tableName: this.config.tableName,
      clients,
      label: 'poller',
      clock,
      fetch: countingFetch,
    });
    const service = createPollService({
      config: this.config,
      clients,
      log: this.log,
      clock,
      weiban,
    });
    const run = pollHandler(service, { log: logger, sink: metrics, now: () => clock.now() });
    const abortBeforeEndMs = this.config.deadlineMarginMs / 2;
    // middy's own early timeout and the service's deadline count real milliseconds; on a
    // scaled clock the deadline has to come from the clock, so it is passed in as the signal.
    const handler = middy<unknown, RunSummary>({ timeoutEarlyInMillis: 0 })
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(logMetrics(metrics))
      .handler(async (event: unknown, context: Context) => {
        const deadline = new AbortController();
        const stop = new AbortController();
        clock.sleep(context.getRemainingTimeInMillis() - abortBeforeEndMs, stop.signal).then(
          () => {
            deadline.abort(new DOMException('the Lambda deadline is near', 'TimeoutError'));
          },
          // Cancelled: the run ended first.
          () => undefined,
        );
        try {
          return await run(event, context, { signal: deadline.signal });
        } finally {
          stop.abort();
        }
      });
    const invoke = async (): Promise<RunSummary> => {
      const deadline = clock.now() + LAMBDA_TIMEOUT_MS;
      const remaining = () => Math.max(0, deadline - clock.now());
      return handler(
        undefined,
        lambdaContext({
          awsRequestId: randomUUID(),
          getRemainingTimeInMillis: remaining,
          functionName: 'weiban-forms-bench-poll',
        }),
      );
    };
    return { service, weiban, invoke };
  }

  /** Sleeps on the shared clock until `atMs` (virtual), as the schedule waits for its next tick. */
  async waitUntil(atMs: number): Promise<void> {
    const left = atMs - this.clock.now();
    if (left > 0) await this.clock.sleep(left);
  }

  async close(): Promise<void> {
    await this.simulator.stop();
    this.aws.destroy();
  }
}
