import { randomUUID } from 'node:crypto';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clockTimeout, systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { Redactor } from './errors.js';
import type { RunSummary } from './model.js';
import { WeibanMeter } from './observability.js';
import { poll, type PollLog, type RunContext } from './poller.js';
import { SnsPublisher } from './publish/sns.js';
import { secretSource } from './secret.js';
import { RateSync } from './rate-sync.js';
import { DynamoFormStateStore } from './store/form-state.js';
import { DynamoSubmitterLedger } from './store/ledger.js';
import { DynamoRateLedger } from './store/rate-ledger.js';
import { DynamoTokenStore } from './store/token-store.js';
import { tokenFetcher, WeibanClient } from './weiban/client.js';
import { WeibanLimiter } from './weiban/limiter.js';
import { TokenProvider } from './weiban/token.js';
import { WeibanTransport, type RetryPolicy } from './weiban/transport.js';

export interface ServiceClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly ssm: SSMClient;
}

export interface ServiceOptions {
  readonly config: Config;
  readonly clients: ServiceClients;
  readonly log: PollLog;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryPolicy;
}

export interface PollService {
  run(ctx: RunContext): Promise<RunSummary>;
  readonly limiter: WeibanLimiter;
  readonly meter: WeibanMeter;
  readonly weiban: WeibanClient;
  readonly tokens: TokenProvider;
  readonly forms: DynamoFormStateStore;
  readonly ledger: DynamoSubmitterLedger;
  readonly publisher: SnsPublisher;
}

/**
 * Wires the poller to its adapters. Built once per process (module scope in the handler),
 * so the limiter, the token and the secret outlive a single invocation.
 */
export function createPollService(options: ServiceOptions): PollService {
  const { config, clients, log } = options;
  const clock = options.clock ?? systemClock;
  const rateSync = new RateSync({
    store: new DynamoRateLedger({
      client: clients.dynamo,
      tableName: config.tableName,
      corpId: config.corpId,
    }),
    clock,
    log,
    perMinute: config.maxPerMinute,
  });
  const limiter = new WeibanLimiter({
    maxInFlight: config.maxInFlight,
    perMinute: config.maxPerMinute,
    clock,
    abandonedHoldMs: config.requestTimeoutMs,
    onSend: rateSync.onSend,
    onBlock: rateSync.onBlock,
  });
  rateSync.attach(limiter);
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
    store: new DynamoTokenStore({
      client: clients.dynamo,
      tableName: config.tableName,
      corpId: config.corpId,
    }),
    fetchToken: tokenFetcher(
      transport,
      config.corpId,
      secretSource(config.secret, clients.ssm, clock),
    ),
    clock,
    owner: randomUUID(),
    fallbackTtlSeconds: config.tokenTtlFallbackSeconds,
  });
  const weiban = new WeibanClient({ transport, tokens });
  const forms = new DynamoFormStateStore({
    client: clients.dynamo,
    tableName: config.tableName,
    clock,
  });
  const ledger = new DynamoSubmitterLedger({
    client: clients.dynamo,
    tableName: config.tableName,
    retentionDays: config.retentionDays,
    clock,
  });
  const publisher = new SnsPublisher({ client: clients.sns, topicArn: config.topicArn, clock });

  return {
    limiter,
    meter,
    weiban,
    tokens,
    forms,
    ledger,
    publisher,
    run: async (ctx) => {
      // Requests still in flight when half the deadline margin is left are aborted, leaving
      // the other half to save a continuation (G6).
      const deadline = clockTimeout(
        clock,
        Math.max(1, ctx.remainingMs() - config.deadlineMarginMs / 2),
      );
      const signal =
        ctx.signal === undefined ? deadline.signal : AbortSignal.any([ctx.signal, deadline.signal]);
      await rateSync.restoreOnce();
      try {
        return await poll(
          { settings: config, weiban, forms, ledger, publisher, clock, log },
          { ...ctx, signal },
        );
      } finally {
        deadline.cancel();
        await rateSync.settle();
      }
    },
  };
}
