import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import type { Clock } from '../clock.js';
import type { FormEvent } from '../events.js';
import type { Grant } from '../store/webhook-rate.js';
import type { AttemptRecord } from '../store/webhook-attempts.js';
import type { Endpoint } from './endpoints.js';
import type { HttpSender } from './http.js';
import type { DeadLetter } from './queue.js';
import type { RateLimits } from './rate-window.js';

export type DeliveryLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** An endpoint's send window, shared by every sender (lib/store/webhook-rate.ts). */
export interface SendWindow {
  peek(endpoint: string, limits: RateLimits): Promise<{ free: number; nextAt: number }>;
  take(endpoint: string, limits: RateLimits, wanted?: number): Promise<Grant>;
  slots(endpoint: string, limits: RateLimits, count: number): Promise<number[]>;
  block(endpoint: string, until: number): Promise<void>;
}

/** Attempt counts and the attempt log (lib/store/webhook-attempts.ts). */
export interface AttemptStore {
  counts(endpoint: string, eventIds: readonly string[]): Promise<Map<string, number>>;
  countFailure(endpoint: string, eventId: string): Promise<number>;
  log(endpoint: string, records: readonly AttemptRecord[]): Promise<void>;
}

/** The endpoint queues (lib/webhooks/queue.ts). */
export interface DeliveryQueue {
  /** Returns the receipt handles whose visibility could not be changed. */
  delay(
    queueUrl: string,
    holds: readonly { receiptHandle: string; seconds: number }[],
  ): Promise<string[]>;
  deadLetter(letter: DeadLetter): Promise<void>;
}

/** SSM SecureStrings (lib/webhooks/parameters.ts). */
export interface ParameterSource {
  get(name: string): Promise<string>;
}

/** What one endpoint's batch came to, for metrics. */
export interface DeliveryTally {
  readonly endpoint: string;
  delivered: number;
  retried: number;
  /** Dead-lettered. */
  failed: number;
  /** Robot messages that merged several submissions. */
  digests: number;
  /** Sends made, and each one's time to answer. */
  readonly latencies: number[];
}

export const emptyTally = (endpoint: string): DeliveryTally => ({
  endpoint,
  delivered: 0,
  retried: 0,
  failed: 0,
  digests: 0,
  latencies: [],
});

/** One received message a batch is responsible for. */
export interface Item {
  readonly record: SQSRecord;
  /** The event id, the `webhook-id` of every attempt. */
  readonly id: string;
  /** Attempts made before this delivery. */
  readonly attemptsBefore: number;
}

/** A received message and the event it carries. */
export interface Received {
  readonly item: Item;
  readonly event: FormEvent;
}

/** One endpoint's batch in progress: what is left in the queue, counts and the attempt log. */
export interface BatchState {
  readonly endpoint: Endpoint;
  readonly queueUrl: string;
  readonly tally: DeliveryTally;
  /** Message ids to report as batchItemFailures: they stay in the queue. */
  readonly failures: Set<string>;
  readonly attemptLog: AttemptRecord[];
}

export interface SettleDeps {
  readonly clock: Clock;
  readonly window: SendWindow;
  readonly attempts: AttemptStore;
  readonly queue: DeliveryQueue;
  readonly log: DeliveryLog;
}

export interface DeliveryDeps extends SettleDeps {
  readonly http: HttpSender;
  readonly parameters: ParameterSource;
  readonly allowLoopback: boolean;
  /** The longest one send may take (the HTTP timeout), to keep inside the Lambda deadline. */
  readonly sendTimeoutMs: number;
}

export interface DeliveryContext {
  /** Lambda time left, in ms. */
  readonly remainingMs: () => number;
  readonly signal?: AbortSignal;
}
