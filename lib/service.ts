import { randomUUID } from 'node:crypto';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clockTimeout, systemClock, type Clock } from './clock.js';
import type { Config, WeibanConfig } from './config.js';
import { fitMargin } from './deadline.js';
import { Redactor } from './errors.js';
import type { RunSummary, WeibanCounts } from './model.js';
import type { RunContext } from './poll/context.js';
import { runPasses } from './poll/passes.js';
import { PollingModesSource } from './poll/modes.js';
import { PollSchedule } from './poll/schedule.js';
import type {
  EventPublisher,
  FindingsSource,
  FormStateStore,
  Log,
  SubmitterLedger,
} from './ports.js';
import { SnsPublisher } from './publish/sns.js';
import { secretSource } from './secret.js';
import { DynamoCorpBudget } from './store/corp-budget.js';
import { DynamoFindingsStore } from './store/findings.js';
import { DynamoFormStateStore } from './store/form-state.js';
import { DynamoSubmitterLedger } from './store/ledger.js';
import { DynamoTokenStore } from './store/token-store.js';
import { tokenFetcher, WeibanClient } from './weiban/client.js';
import type { BudgetStore } from './weiban/budget.js';
import { WeibanLimiter } from './weiban/limiter.js';
import { WeibanMeter } from './weiban/meter.js';
import { TokenProvider, type TokenStore } from './weiban/token.js';
import { WeibanTransport, type RetryPolicy } from './weiban/transport.js';

/** The last pass starts this long before the next scheduled invocation is due. */
export const NEXT_RUN_GUARD_MS = 3_000;

export interface ServiceClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly ssm: SSMClient;
}

/** Everything a process needs to talk to Weiban, built once and kept for its lifetime. */
export interface WeibanSide {
  readonly client: WeibanClient;
  readonly limiter: WeibanLimiter;
  readonly meter: WeibanMeter;
  readonly tokens: TokenProvider;
}

export interface WeibanOptions {
  readonly config: WeibanConfig;
  /** The table that holds the corp's shared budget and token. */
  readonly tableName: string;
  readonly clients: Pick<ServiceClients, 'dynamo' | 'ssm'>;
  /** What this process is, as the corp's budget record names its holder: `poller`, `backfill`… */
  readonly label: string;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryPolicy;
  /** Where the corp's budget and token are shared; the table's items unless given (the benchmark keeps them in memory). */
  readonly shared?: { readonly budget: BudgetStore; readonly token: TokenStore };
}

/**
 * The Weiban side of one process. Two things in it are shared with every other caller of the
 * corp through the table, because Weiban counts per corp (docs/guarantees.md#g4, #g5): the
 * budget (in-flight slots, the minute, the hour, blocks) and the token.
 */
export function createWeiban(options: WeibanOptions): WeibanSide {
  const { config, tableName, clients, label } = options;
  const clock = options.clock ?? systemClock;
  const corp = { client: clients.dynamo, tableName, corpId: config.corpId };
  // One id per process: it holds the corp's budget and the token's refresh lock.
  const owner = randomUUID();
  const sharedBudget = options.shared?.budget ?? new DynamoCorpBudget(corp);
  const sharedToken = options.shared?.token ?? new DynamoTokenStore(corp);

  const limiter = new WeibanLimiter({
    maxInFlight: config.maxInFlight,
    perMinute: config.maxPerMinute,
    perHour: config.maxPerHour,
    clock,
    abandonedHoldMs: config.requestTimeoutMs,
    shared: { store: sharedBudget, owner, label },
  });
  const meter = new WeibanMeter();
  // G9: a plain secret is known from the start; tokens and an SSM secret as they are used.
  const redactor = new Redactor();
  if (config.secret.kind === 'plain') redactor.add(config.secret.value);
  const transport = new WeibanTransport({
    baseUrl: config.weibanBaseUrl,
    limiter,
    clock,
    requestTimeoutMs: config.requestTimeoutMs,
    observe: meter.observe,
    redactor,
    ...(options.retry !== undefined && { retry: options.retry }),
    ...(options.fetch !== undefined && { fetch: options.fetch }),
  });
  const tokens = new TokenProvider({
    store: sharedToken,
    fetchToken: tokenFetcher(
      transport,
      config.corpId,
      secretSource(config.secret, clients.ssm, clock),
    ),
    clock,
    owner,
    fallbackTtlSeconds: config.tokenTtlFallbackSeconds,
  });
  return { client: new WeibanClient({ transport, tokens }), limiter, meter, tokens };
}

/** What one run did: the summary the handler returns, and Weiban's answers for the metrics. */
export interface RunReport {
  readonly summary: RunSummary;
  readonly weiban: WeibanCounts;
}

export interface PollService {
  run(ctx: RunContext): Promise<RunReport>;
}

export interface ServiceOptions extends Omit<
  WeibanOptions,
  'config' | 'tableName' | 'clients' | 'label'
> {
  readonly config: Config;
  readonly clients: ServiceClients;
  readonly log: Log;
  /** The Weiban side, when the caller built it (to reach its token or limiter); else built here. */
  readonly weiban?: WeibanSide;
  /** The shortest lease term (LEASE_FLOOR_MS): a test on a clock faster than real time scales it. */
  readonly leaseFloorMs?: number;
  /** The form state, ledger and publisher; the table's and the topic's unless given (the benchmark keeps them in memory). */
  readonly stores?: {
    readonly forms: FormStateStore;
    readonly ledger: SubmitterLedger;
    readonly publisher: EventPublisher;
    /** The probe's stored findings (the table's item unless given). */
    readonly findings?: FindingsSource;
  };
}

/**
 * Wires the poller to its adapters. Built once per process (module scope in the handler),
 * so the limiter, the token and the secret outlive a single invocation.
 */
export function createPollService(options: ServiceOptions): PollService {
  const { config, clients, log } = options;
  const clock = options.clock ?? systemClock;
  const weiban =
    options.weiban ??
    createWeiban({ ...options, tableName: config.tableName, label: 'poller', clock });
  const table = { client: clients.dynamo, tableName: config.tableName, clock };
  // Each form's lease, cursor and continuation are shared with every other poller of the form.
  const forms = options.stores?.forms ?? new DynamoFormStateStore(table);
  const ledger =
    options.stores?.ledger ??
    new DynamoSubmitterLedger({ ...table, retentionDays: config.retentionDays });
  const publisher =
    options.stores?.publisher ??
    new SnsPublisher({ client: clients.sns, topicArn: config.topicArn, clock });
  const schedule = new PollSchedule();
  // What `weiban-forms probe --save` proved of the corp's Weiban, read once per refresh period.
  const modes = new PollingModesSource({
    findings:
      options.stores?.findings ??
      new DynamoFindingsStore({
        client: clients.dynamo,
        tableName: config.tableName,
        corpId: config.corpId,
      }),
    settings: config,
    clock,
    log,
  });

  return {
    run: async (ctx) => {
      const startedAt = clock.now();
      const remainingAtStart = ctx.remainingMs();
      const deadlineMarginMs = fitMargin(config.deadlineMarginMs, remainingAtStart);
      // Requests still in flight when half the deadline margin is left are aborted, leaving
      // the other half to save a continuation (docs/guarantees.md#g6).
      const deadline = clockTimeout(clock, Math.max(1, remainingAtStart - deadlineMarginMs / 2));
      const signal =
        ctx.signal === undefined ? deadline.signal : AbortSignal.any([ctx.signal, deadline.signal]);
      const intervalMs = config.pollIntervalSeconds * 1000;
      try {
        const summary = await runPasses(
          {
            settings: {
              ...config,
              deadlineMarginMs,
              ...(options.leaseFloorMs !== undefined && { leaseFloorMs: options.leaseFloorMs }),
              pace: {
                minMs: intervalMs,
                perMinute: config.maxPerMinute,
                periodMs: config.schedulePeriodSeconds * 1000,
              },
            },
            weiban: weiban.client,
            forms,
            ledger,
            publisher,
            clock,
            log,
            schedule,
            modes,
          },
          { ...ctx, signal },
          {
            intervalMs,
            // Passes end before the next scheduled invocation (reserved concurrency 1) and
            // before this one's time runs out.
            lastStartBy:
              ctx.singlePass === true
                ? startedAt
                : Math.min(
                    (ctx.scheduledAt ?? startedAt) +
                      config.schedulePeriodSeconds * 1000 -
                      NEXT_RUN_GUARD_MS,
                    startedAt + remainingAtStart - deadlineMarginMs,
                  ),
            // Between passes: a backfill that waits gets its turn at Weiban.
            afterPass: () => weiban.limiter.yieldIfWanted(),
          },
        );
        return {
          summary,
          weiban: { ...weiban.meter.drain(), blockLevel: weiban.limiter.highestBlockLevel() },
        };
      } finally {
        deadline.cancel();
        // The hold lapses on its own soon after; a write now only pays when someone waits.
        await weiban.limiter.yieldIfWanted();
      }
    },
  };
}
