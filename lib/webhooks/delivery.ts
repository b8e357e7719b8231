import type { SQSRecord } from 'aws-lambda';
import { formEventSchema, type FormEvent } from '../events.js';
import { mapPool } from '../pool.js';
import { answerPreview, classify, type Outcome } from './classify.js';
import { isRobot, type Endpoint } from './endpoints.js';
import type { HttpSender } from './http.js';
import { emptyTally, type DeliveryTally, type ParameterSource } from './ports.js';
import { composeDigests, DIALECTS, planMessages, type Composed } from './robots/compose.js';
import { toLead } from './robots/lead.js';
import {
  deadLetter,
  defer,
  settle,
  type BatchState,
  type Item,
  type SettleDeps,
} from './settle.js';
import { standardHeaders, USER_AGENT } from './standard.js';
import { resolveTarget, TargetError, type Target } from './target.js';

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

/** Time kept back after the last send for settling the batch (writes, visibility changes). */
const SETTLE_MARGIN_MS = 5_000;
/** `standard` deliveries of one batch sent at once (the batch is 10). */
const STANDARD_CONCURRENCY = 10;

/** What one endpoint's batch came to: messages to leave in the queue, and counts. */
export interface BatchReport {
  readonly failures: readonly string[];
  readonly tally: DeliveryTally;
}

interface Parsed {
  readonly item: Item;
  readonly event: FormEvent;
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
  const parsed: Parsed[] = [];
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

async function send(deps: DeliveryDeps, state: BatchState, items: Parsed[], ctx: DeliveryContext) {
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
    await settle(
      deps,
      state,
      items.map(({ item }) => item),
      outcome,
      {
        latencyMs: 0,
        answer: '',
        events: 1,
      },
    );
    return;
  }
  const hasTime = () => ctx.remainingMs() > deps.sendTimeoutMs + SETTLE_MARGIN_MS;
  if (isRobot(state.endpoint.format)) await sendRobot(deps, state, items, target, hasTime);
  else await sendStandard(deps, state, items, target, hasTime, ctx.signal);
}

const limitsOf = (endpoint: Endpoint) => ({
  perMinute: endpoint.ratePerMinute,
  ...(endpoint.ratePerSecond !== undefined && { perSecond: endpoint.ratePerSecond }),
});

async function sendStandard(
  deps: DeliveryDeps,
  state: BatchState,
  items: Parsed[],
  target: Target,
  hasTime: () => boolean,
  signal?: AbortSignal,
) {
  const all = items.map(({ item }) => item);
  if (!hasTime()) return defer(deps, state, all, deps.clock.now());
  const limits = limitsOf(state.endpoint);
  const grant = await deps.window.take(state.endpoint.name, limits, items.length);
  await deferToSlots(
    deps,
    state,
    limits,
    all.slice(grant.granted).map((item) => [item]),
  );
  await mapPool(items.slice(0, grant.granted), STANDARD_CONCURRENCY, async ({ item }) => {
    // The body goes out byte for byte as it arrived: the event JSON exactly as published.
    const headers = standardHeaders({
      id: item.id,
      body: item.record.body,
      keys: target.keys ?? [],
      nowMs: deps.clock.now(),
    });
    const result = await deps.http.post(
      { url: target.url, headers, body: item.record.body },
      signal,
    );
    state.tally.latencies.push(result.latencyMs);
    const outcome = classify(result, { nowMs: deps.clock.now() });
    logAttempt(deps, state, target, outcome, 1);
    await settle(deps, state, [item], outcome, {
      latencyMs: result.latencyMs,
      answer: answerPreview(result, target.redactor),
      events: 1,
    });
  });
}

async function sendRobot(
  deps: DeliveryDeps,
  state: BatchState,
  items: Parsed[],
  target: Target,
  hasTime: () => boolean,
) {
  if (!isRobot(state.endpoint.format)) return;
  const dialect = DIALECTS[state.endpoint.format];
  const limits = limitsOf(state.endpoint);
  const byId = new Map(items.map(({ item }) => [item.id, item]));
  const itemsOf = (leads: readonly { id: string }[]) =>
    leads.flatMap((lead) => {
      const item = byId.get(lead.id);
      return item === undefined ? [] : [item];
    });
  // Oldest first, so a group reads its leads in the order they came.
  const leads = [...items]
    .sort(
      (a, b) =>
        a.event.data.submit_at - b.event.data.submit_at || a.item.id.localeCompare(b.item.id),
    )
    .map(({ event }) => toLead(event));
  const { free } = await deps.window.peek(state.endpoint.name, limits);
  const plan = planMessages(dialect, leads, free);
  const waiting: Composed[] = [];
  for (const message of plan.messages) {
    if (waiting.length > 0 || !hasTime()) {
      waiting.push(message);
      continue;
    }
    const grant = await deps.window.take(state.endpoint.name, limits, 1);
    if (grant.granted === 0) {
      waiting.push(message);
      continue;
    }
    const request = dialect.request(message.payload, {
      url: target.url,
      ...(target.secret !== undefined && { secret: target.secret }),
      nowMs: deps.clock.now(),
    });
    const result = await deps.http.post({
      url: request.url,
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body: request.body,
    });
    state.tally.latencies.push(result.latencyMs);
    if (message.digest) state.tally.digests += 1;
    const outcome = classify(result, { dialect, nowMs: deps.clock.now() });
    logAttempt(deps, state, target, outcome, message.leads.length);
    await settle(deps, state, itemsOf(message.leads), outcome, {
      latencyMs: result.latencyMs,
      answer: answerPreview(result, target.redactor),
      events: message.leads.length,
    });
  }
  const later = [...waiting.flatMap((message) => message.leads), ...plan.rest];
  if (later.length === 0) return;
  if (!hasTime()) return defer(deps, state, itemsOf(later), deps.clock.now());
  // Each digest's worth waits for a send of its own, so a backlog is received about once more.
  const groups = composeDigests(dialect, later, Number.POSITIVE_INFINITY).messages;
  await deferToSlots(
    deps,
    state,
    limits,
    groups.map((group) => itemsOf(group.leads)),
  );
}

/** Puts each group back until its own upcoming send in the window: not an attempt. */
async function deferToSlots(
  deps: DeliveryDeps,
  state: BatchState,
  limits: ReturnType<typeof limitsOf>,
  groups: readonly (readonly Item[])[],
) {
  if (groups.length === 0) return;
  const slots = await deps.window.slots(state.endpoint.name, limits, groups.length);
  const byTime = new Map<number, Item[]>();
  groups.forEach((group, index) => {
    const at = slots[index] ?? deps.clock.now();
    byTime.set(at, [...(byTime.get(at) ?? []), ...group]);
  });
  for (const [at, items] of byTime) await defer(deps, state, items, at);
}

function logAttempt(
  deps: DeliveryDeps,
  state: BatchState,
  target: Target,
  outcome: Outcome,
  events: number,
) {
  const fields = {
    endpoint: state.endpoint.name,
    to: target.shown,
    status: outcome.status,
    ...(outcome.code !== undefined && { code: outcome.code }),
    events,
  };
  if (outcome.kind === 'delivered') deps.log.debug('webhook delivered', fields);
  else
    deps.log.info('webhook attempt failed', {
      ...fields,
      outcome: outcome.kind,
      reason: outcome.reason,
    });
}

function parseEvent(body: string): FormEvent | undefined {
  try {
    const parsed = formEventSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON: dead-lettered as not an event
  }
}
