import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock, type Clock } from '../lib/clock.js';
import { lambdaContext } from './lambda-context.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** A clock that may be moved forward (dev/virtual-clock.ts), or the system clock. */
export type DriverClock = Clock & { advance?: (ms: number) => void };

export interface LocalEventSourceOptions {
  /** A client for the emulator's SQS (the driver's own). */
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** One handler per concurrent execution (the mapping's MaximumConcurrency). */
  readonly handlers: readonly SqsHandler[];
  /** Records per invocation at most (standard 10, robots 50). */
  readonly batchSize?: number;
  /** How long, in real ms, a batch is gathered before the handler is invoked. */
  readonly batchingWindowMs?: number;
  /** The queue's own visibility timeout: when a failed record comes back unless changed. */
  readonly queueVisibilitySeconds?: number;
  /** Lambda time each invocation gets. */
  readonly timeoutMs?: number;
  /** Time as the handler sees it; with a virtual clock, `drain` jumps it over idle waits. */
  readonly clock?: DriverClock;
  readonly region?: string;
}

export interface DrainResult {
  readonly invocations: number;
  readonly records: number;
  /** Records a handler reported as failures (they went back to the queue). */
  readonly failures: number;
}

interface Hidden {
  receiptHandle: string;
  visibleAt: number;
}

/**
 * Plays the Lambda SQS event source mapping against an emulator's queue, for tests and
 * `npm start`: receives batches, invokes the handler with a Lambda-shaped SQS event, deletes
 * what succeeded and leaves the batchItemFailures. It also keeps SQS's timers on the given
 * clock: a visibility change the handler makes (seen through `watch`) is honoured in that
 * clock's time, so a virtual clock can walk a 10 h retry delay without waiting.
 */
export class LocalEventSource {
  readonly #o: Required<Omit<LocalEventSourceOptions, 'clock'>> & { clock: DriverClock };
  readonly #hidden = new Map<string, Hidden>();
  readonly #byHandle = new Map<string, string>();
  #running: Promise<void> | undefined;
  /** One ReceiveMessage at a time: concurrent receives make the emulator hand out repeats. */
  #receiving: Promise<unknown> = Promise.resolve();
  #stop = false;

  constructor(options: LocalEventSourceOptions) {
    this.#o = {
      batchSize: 10,
      batchingWindowMs: 0,
      queueVisibilitySeconds: 360,
      timeoutMs: 60_000,
      region: 'us-east-1',
      ...options,
      clock: options.clock ?? systemClock,
    };
  }

  /**
   * Sees the visibility changes made through `client` (the handler's SQS client), as SQS
   * would apply them, in the driver's clock.
   */
  watch(client: SQSClient): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as {
          ReceiptHandle?: unknown;
          VisibilityTimeout?: unknown;
          Entries?: unknown;
        };
        const changes = Array.isArray(input.Entries) ? (input.Entries as unknown[]) : [input];
        for (const change of changes) this.#seeVisibility(change);
        return next(args);
      },
      { step: 'initialize', name: `localEventSourceVisibility:${this.#o.queueArn}` },
    );
  }

  #seeVisibility(change: unknown): void {
    if (typeof change !== 'object' || change === null) return;
    const { ReceiptHandle: handle, VisibilityTimeout: seconds } = change as Record<string, unknown>;
    const id = typeof handle === 'string' ? this.#byHandle.get(handle) : undefined;
    const hidden = id === undefined ? undefined : this.#hidden.get(id);
    if (hidden !== undefined && typeof seconds === 'number') {
      hidden.visibleAt = this.#o.clock.now() + seconds * 1000;
    }
  }

  /** Records received and not yet deleted: waiting for their visibility timeout. */
  pending(): number {
    return this.#hidden.size;
  }

  /** One invocation per handler at once, until the queue is empty and nothing is pending. */
  async drain({
    maxInvocations = 10_000,
    until,
  }: { maxInvocations?: number; until?: () => boolean } = {}): Promise<DrainResult> {
    let invocations = 0;
    let records = 0;
    let failures = 0;
    let idle = 0;
    while (invocations < maxInvocations && until?.() !== true) {
      await this.#releaseDue();
      const results = await Promise.all(this.#o.handlers.map((handler) => this.#invoke(handler)));
      for (const result of results) {
        if (result.records > 0) invocations += 1;
        records += result.records;
        failures += result.failures;
      }
      if (results.some((result) => result.records > 0)) {
        idle = 0;
        continue;
      }
      const next = this.#nextDue();
      if (next === undefined) {
        // Twice empty with nothing hidden: a record just released has had its chance.
        idle += 1;
        if (idle >= 2) break;
        continue;
      }
      const wait = next - this.#o.clock.now();
      if (wait > 0) {
        if (this.#o.clock.advance !== undefined) this.#o.clock.advance(wait);
        else await this.#o.clock.sleep(Math.min(wait, 1_000));
      }
    }
    return { invocations, records, failures };
  }

  /** Polls in the background until `stop()` (for `npm start`). */
  start(): void {
    this.#stop = false;
    this.#running ??= (async () => {
      while (!this.#stop) {
        await this.#releaseDue();
        const results = await Promise.all(this.#o.handlers.map((handler) => this.#invoke(handler)));
        if (results.every((result) => result.records === 0)) await systemClock.sleep(500);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#running;
    this.#running = undefined;
  }

  async #invoke(handler: SqsHandler): Promise<{ records: number; failures: number }> {
    const messages = await this.#receive();
    if (messages.length === 0) return { records: 0, failures: 0 };
    const event: SQSEvent = { Records: messages.map((message) => this.#record(message)) };
    const deadline = Date.now() + this.#o.timeoutMs;
    let failed: Set<string>;
    try {
      const response = await handler(
        event,
        lambdaContext({
          awsRequestId: randomUUID(),
          getRemainingTimeInMillis: () => deadline - Date.now(),
          functionName: 'weiban-forms-local-deliver',
        }),
      );
      failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    } catch {
      // A failed invocation leaves the whole batch, as the event source mapping does.
      failed = new Set(
        messages.flatMap((message) => (message.MessageId === undefined ? [] : [message.MessageId])),
      );
    }
    const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
    await this.#delete(done);
    return { records: messages.length, failures: messages.length - done.length };
  }

  #receive(): Promise<Message[]> {
    const next = this.#receiving.then(() => this.#gather());
    this.#receiving = next.catch(() => undefined);
    return next;
  }

  async #gather(): Promise<Message[]> {
    const messages: Message[] = [];
    const until = Date.now() + this.#o.batchingWindowMs;
    while (messages.length < this.#o.batchSize) {
      const { Messages: got = [] } = await this.#o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#o.queueUrl,
          MaxNumberOfMessages: Math.min(10, this.#o.batchSize - messages.length),
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      for (const message of got) {
        if (message.MessageId === undefined || message.ReceiptHandle === undefined) continue;
        const old = this.#hidden.get(message.MessageId);
        if (old !== undefined) this.#byHandle.delete(old.receiptHandle);
        this.#hidden.set(message.MessageId, {
          receiptHandle: message.ReceiptHandle,
          visibleAt: this.#o.clock.now() + this.#o.queueVisibilitySeconds * 1000,
        });
        this.#byHandle.set(message.ReceiptHandle, message.MessageId);
        messages.push(message);
      }
      if (got.length === 0 && Date.now() >= until) break;
      if (got.length === 0) await systemClock.sleep(Math.min(200, until - Date.now()));
    }
    return messages;
  }

  async #delete(messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const group = messages.slice(i, i + 10);
      await this.#o.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#o.queueUrl,
          Entries: group.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
      for (const message of group) this.#forget(message.MessageId ?? '');
    }
  }

  #forget(messageId: string): void {
    const hidden = this.#hidden.get(messageId);
    if (hidden !== undefined) this.#byHandle.delete(hidden.receiptHandle);
    this.#hidden.delete(messageId);
  }

  #nextDue(): number | undefined {
    let next: number | undefined;
    for (const hidden of this.#hidden.values()) next = Math.min(next ?? Infinity, hidden.visibleAt);
    return next;
  }

  /** Makes visible, now, what the clock says is due (a virtual clock runs ahead of SQS's). */
  async #releaseDue(): Promise<void> {
    const now = this.#o.clock.now();
    const due = [...this.#hidden].filter(([, hidden]) => hidden.visibleAt <= now);
    for (let start = 0; start < due.length; start += 10) {
      const group = due.slice(start, start + 10);
      // A handle that failed is already visible again, or was received anew: nothing to do.
      await this.#o.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#o.queueUrl,
          Entries: group.map(([, hidden], index) => ({
            Id: String(index),
            ReceiptHandle: hidden.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      for (const [id] of group) this.#forget(id);
    }
  }

  #record(message: Message): SQSRecord {
    const system = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
        SentTimestamp: system.SentTimestamp ?? String(Date.now()),
        SenderId: system.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp:
          system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          {
            dataType: value.DataType ?? 'String',
            ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.#o.queueArn,
      awsRegion: this.#o.region,
    };
  }
}
