import { answerPreview, classify } from './classify.js';
import type { BatchState, DeliveryDeps, Item, Received } from './ports.js';
import { limitsOf, robotRequest } from './requests.js';
import { composeDigests, planMessages, type Composed } from './robots/compose.js';
import type { RobotDialect } from './robots/dialect.js';
import { toLead, type Lead } from './robots/lead.js';
import { defer, deferToSlots, settle } from './settle.js';
import type { Target } from './target.js';

/**
 * Sends a robot endpoint's batch, oldest submission first: one message each while the
 * window allows that many, digests when it does not; each message takes its own send just
 * before it goes, so concurrent senders never exceed the robot's limit together.
 */
export async function sendRobot(
  deps: DeliveryDeps,
  state: BatchState,
  received: readonly Received[],
  target: Target,
  { dialect, hasTime }: { dialect: RobotDialect; hasTime: () => boolean },
): Promise<void> {
  const limits = limitsOf(state.endpoint);
  const byId = new Map(received.map(({ item }) => [item.id, item]));
  const itemsOf = (leads: readonly Lead[]): Item[] =>
    leads.flatMap((lead) => {
      const item = byId.get(lead.id);
      return item === undefined ? [] : [item];
    });
  const leads = [...received]
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
    const result = await deps.http.post(
      robotRequest(dialect, message.payload, target, deps.clock.now()),
    );
    state.tally.latencies.push(result.latencyMs);
    if (message.digest) state.tally.digests += 1;
    await settle(
      deps,
      state,
      itemsOf(message.leads),
      classify(result, { dialect, nowMs: deps.clock.now() }),
      {
        latencyMs: result.latencyMs,
        answer: answerPreview(result, target.redactor),
        events: message.leads.length,
        to: target.shown,
      },
    );
  }
  const later = [...waiting.flatMap((message) => message.leads), ...plan.rest];
  if (later.length === 0) return;
  if (!hasTime()) return defer(deps, state, itemsOf(later), deps.clock.now());
  const groups = composeDigests(dialect, later, Number.POSITIVE_INFINITY).messages;
  await deferToSlots(
    deps,
    state,
    limits,
    groups.map((group) => itemsOf(group.leads)),
  );
}
