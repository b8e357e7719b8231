import type { SQSRecord } from 'aws-lambda';
import { formEventSchema, type FormEvent } from '../events.js';
import type { Outcome } from './classify.js';
import { isRobot, type Endpoint } from './endpoints.js';
import {
  emptyTally,
  type BatchState,
  type DeliveryContext,
  type DeliveryDeps,
  type DeliveryTally,
  type Received,
} from './ports.js';
import { DIALECTS } from './robots/compose.js';
import { sendRobot } from './send-robot.js';
import { sendStandard } from './send-standard.js';
import { deadLetter, settle } from './settle.js';
import { resolveTarget, TargetError, type Target } from './target.js';

export type { DeliveryContext, DeliveryDeps } from './ports.js';

/** Time kept back after the last send for settling the batch (writes, visibility changes). */
const SETTLE_MARGIN_MS = 5_000;

/** What one endpoint's batch came to: messages to leave in the queue, and counts. */
export interface BatchReport {
  readonly failures: readonly string[];
  readonly tally: DeliveryTally;
}

/**
 * Delivers one endpoint's batch. Every record ends delivered, waiting in the queue for its
 * next attempt or its turn in the rate window, or in the dead-letter queue with the reason.
 */
export async function deliverBatch(
  deps: DeliveryDeps,
  batch: { endpoint: Endpoint; queueUrl: string; records: readonly SQSRecord[] },
  ctx: DeliveryContext,
): Promise<BatchReport> {
  const state: BatchState = {
    endpoint: batch.endpoint,
    queueUrl: batch.queueUrl,
    tally: emptyTally(batch.endpoint.name),
    failures: new Set(),
    attemptLog: [],
  };
  const parsed: Received[] = [];
  for (const record of batch.records) {
    const event = parseEvent(record.body);
    if (event === undefined) {
      await deadLetter(
        deps,
        state,
        { record, id: record.messageId },
        {
          reason: 'the message is not a form event',
          attempts: 0,
          lastStatus: 'invalid',
        },
      );
    } else parsed.push({ item: { record, id: event.id, attemptsBefore: 0 }, event });
  }
  if (parsed.length > 0) {
    const counts = await deps.attempts.counts(
      batch.endpoint.name,
      parsed.map(({ item }) => item.id),
    );
    const items = parsed.map(({ item, event }) => ({
      item: { ...item, attemptsBefore: counts.get(item.id) ?? 0 },
      event,
    }));
    await send(deps, state, items, ctx);
  }
  if (state.attemptLog.length > 0) await deps.attempts.log(batch.endpoint.name, state.attemptLog);
  return { failures: [...state.failures], tally: state.tally };
}

async function send(
  deps: DeliveryDeps,
  state: BatchState,
  received: readonly Received[],
  ctx: DeliveryContext,
) {
  let target: Target;
  try {
    target = await resolveTarget(state.endpoint, deps.parameters, {
      allowLoopback: deps.allowLoopback,
      nowMs: deps.clock.now(),
    });
  } catch (error: unknown) {
    if (!(error instanceof TargetError)) throw error;
    const outcome: Outcome = error.permanent
      ? { kind: 'permanent', status: 'config', reason: error.message }
      : { kind: 'retry', status: 'config', reason: error.message };
    const items = received.map(({ item }) => item);
    await settle(deps, state, items, outcome, { latencyMs: 0, answer: '', events: 1 });
    return;
  }
  const hasTime = () => ctx.remainingMs() > deps.sendTimeoutMs + SETTLE_MARGIN_MS;
  const { format } = state.endpoint;
  if (isRobot(format)) {
    await sendRobot(deps, state, received, target, { dialect: DIALECTS[format], hasTime });
  } else {
    await sendStandard(deps, state, received, target, { hasTime, signal: ctx.signal });
  }
}

function parseEvent(body: string): FormEvent | undefined {
  try {
    const parsed = formEventSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON: dead-lettered as not an event
  }
}
