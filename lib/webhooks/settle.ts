import type { SQSMessageAttributes } from 'aws-lambda';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { Outcome } from './classify.js';
import type { BatchState, Item, SettleDeps } from './ports.js';
import type { RateLimits } from './rate-window.js';
import { clampToSchedule, nextDelayMs, toVisibilitySeconds } from './schedule.js';

export interface AttemptFacts {
  readonly latencyMs: number;
  readonly answer: string;
  /** Events in the message (a digest carries several). */
  readonly events: number;
  /** Where it went, as it may be shown (keys masked); absent when nothing was sent. */
  readonly to?: string;
}

/**
 * Applies an attempt's outcome to every event of the message: delivered ones leave the queue;
 * retried ones count an attempt and wait their turn in the schedule (visibility timeout);
 * permanent refusals and exhausted schedules go to the dead-letter queue with the reason.
 */
export async function settle(
  deps: SettleDeps,
  batch: BatchState,
  items: readonly Item[],
  outcome: Outcome,
  facts: AttemptFacts,
): Promise<void> {
  const now = deps.clock.now();
  if (facts.to !== undefined) logAttempt(deps, batch, outcome, facts);
  const pause =
    outcome.kind === 'retry'
      ? (outcome.pauseMs ??
        (outcome.retryAfterMs === undefined ? undefined : clampToSchedule(outcome.retryAfterMs)))
      : undefined;
  // A throttle or a Retry-After holds every sender back, not only this message.
  if (pause !== undefined) await deps.window.block(batch.endpoint.name, now + pause);
  const holds: Hold[] = [];
  for (const item of items) {
    const entry = {
      eventId: item.id,
      atMs: now,
      status: outcome.status,
      ...(outcome.code !== undefined && { code: outcome.code }),
      latencyMs: facts.latencyMs,
      answer: facts.answer,
      events: facts.events,
    };
    if (outcome.kind === 'delivered') {
      batch.tally.delivered += 1;
      batch.attemptLog.push({ ...entry, attempt: item.attemptsBefore + 1, outcome: 'delivered' });
      continue;
    }
    const made = await deps.attempts.countFailure(batch.endpoint.name, item.id);
    const delayMs =
      outcome.kind === 'retry'
        ? nextDelayMs(made, {
            ...(outcome.retryAfterMs !== undefined && { retryAfterMs: outcome.retryAfterMs }),
            ...(outcome.pauseMs !== undefined && { pauseMs: outcome.pauseMs }),
          })
        : undefined;
    if (delayMs !== undefined) {
      batch.tally.retried += 1;
      batch.attemptLog.push({ ...entry, attempt: made, outcome: 'retry', reason: outcome.reason });
      holds.push({ item, delayMs });
      continue;
    }
    const reason =
      outcome.kind === 'retry'
        ? `gave up after ${made} attempts; the last: ${outcome.reason}`
        : outcome.reason;
    batch.attemptLog.push({ ...entry, attempt: made, outcome: 'dead', reason });
    await deadLetter(deps, batch, item, { reason, attempts: made, lastStatus: outcome.status });
  }
  await hold(deps, batch, holds);
}

/**
 * Puts each group back until its own upcoming send in the window, so that a backlog is
 * received about once more rather than at every free send. Not an attempt.
 */
export async function deferToSlots(
  deps: SettleDeps,
  batch: BatchState,
  limits: RateLimits,
  groups: readonly (readonly Item[])[],
): Promise<void> {
  if (groups.length === 0) return;
  const slots = await deps.window.slots(batch.endpoint.name, limits, groups.length);
  const byTime = new Map<number, Item[]>();
  groups.forEach((group, index) => {
    const at = slots[index] ?? deps.clock.now();
    byTime.set(at, [...(byTime.get(at) ?? []), ...group]);
  });
  for (const [at, items] of byTime) await defer(deps, batch, items, at);
}

/** Puts items back without an attempt: the window has no slot, or the Lambda no time. */
export async function defer(
  deps: SettleDeps,
  batch: BatchState,
  items: readonly Item[],
  untilMs: number,
): Promise<void> {
  const delayMs = Math.max(0, untilMs - deps.clock.now());
  await hold(
    deps,
    batch,
    items.map((item) => ({ item, delayMs })),
  );
}

interface Hold {
  readonly item: Item;
  readonly delayMs: number;
}

/** Leaves the items in the queue, each hidden until its next turn. */
async function hold(deps: SettleDeps, batch: BatchState, holds: readonly Hold[]) {
  if (holds.length === 0) return;
  for (const { item } of holds) batch.failures.add(item.record.messageId);
  try {
    const unchanged = await deps.queue.delay(
      batch.queueUrl,
      holds.map(({ item, delayMs }) => ({
        receiptHandle: item.record.receiptHandle,
        seconds: toVisibilitySeconds(delayMs),
      })),
    );
    // They still come back: after the queue's own visibility timeout instead.
    if (unchanged.length > 0)
      deps.log.warn('visibility change failed', { count: unchanged.length });
  } catch (error: unknown) {
    deps.log.warn('visibility change failed', { count: holds.length, error: errorText(error) });
  }
}

/** Sends the message to the endpoint's DLQ with the reason; if that fails it stays queued. */
export async function deadLetter(
  deps: SettleDeps,
  batch: BatchState,
  item: Pick<Item, 'record' | 'id'>,
  facts: { reason: string; attempts: number; lastStatus: string },
): Promise<void> {
  try {
    await deps.queue.deadLetter({
      dlqUrl: batch.endpoint.dlqUrl,
      body: item.record.body,
      attributes: sdkAttributes(item.record.messageAttributes),
      reason: facts.reason,
      attempts: facts.attempts,
      lastStatus: facts.lastStatus,
      endpoint: batch.endpoint.name,
    });
    batch.tally.failed += 1;
    deps.log.warn('webhook dead-lettered', { eventId: item.id, ...facts });
  } catch (error: unknown) {
    batch.failures.add(item.record.messageId);
    deps.log.error('dead letter failed; the message stays queued', {
      eventId: item.id,
      error: errorText(error),
    });
  }
}

/** Lambda's SQS attribute shape back into the SDK's, to send on unchanged. */
function sdkAttributes(attributes: SQSMessageAttributes): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value.stringValue !== undefined) {
      out[name] = { DataType: value.dataType, StringValue: value.stringValue };
    }
  }
  return out;
}

function logAttempt(deps: SettleDeps, batch: BatchState, outcome: Outcome, facts: AttemptFacts) {
  const fields = {
    endpoint: batch.endpoint.name,
    to: facts.to,
    status: outcome.status,
    ...(outcome.code !== undefined && { code: outcome.code }),
    events: facts.events,
    latencyMs: facts.latencyMs,
  };
  if (outcome.kind === 'delivered') deps.log.debug('webhook delivered', fields);
  else
    deps.log.info('webhook attempt failed', {
      ...fields,
      outcome: outcome.kind,
      reason: outcome.reason,
    });
}

export const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
