import pMap from 'p-map';
import { answerPreview, classify } from './classify.js';
import type { BatchState, DeliveryDeps, Received } from './ports.js';
import { limitsOf, standardRequest } from './requests.js';
import { defer, deferToSlots, settle } from './settle.js';
import type { Target } from './target.js';

/** `standard` deliveries of one batch sent at once (the batch is 10). */
const CONCURRENCY = 10;

/**
 * Sends a `standard` endpoint's batch: as many as its window allows now, at once; the rest
 * wait for their sends to come.
 */
export async function sendStandard(
  deps: DeliveryDeps,
  state: BatchState,
  received: readonly Received[],
  target: Target,
  { hasTime, signal }: { hasTime: () => boolean; signal?: AbortSignal | undefined },
): Promise<void> {
  const items = received.map(({ item }) => item);
  if (!hasTime()) return defer(deps, state, items, deps.clock.now());
  const limits = limitsOf(state.endpoint);
  const grant = await deps.window.take(state.endpoint.name, limits, items.length);
  await deferToSlots(
    deps,
    state,
    limits,
    items.slice(grant.granted).map((item) => [item]),
  );
  await pMap(
    items.slice(0, grant.granted),
    async (item) => {
      const request = standardRequest(target, {
        id: item.id,
        body: item.record.body,
        nowMs: deps.clock.now(),
      });
      const result = await deps.http.post(request, signal);
      state.tally.latencies.push(result.latencyMs);
      await settle(deps, state, [item], classify(result, { nowMs: deps.clock.now() }), {
        latencyMs: result.latencyMs,
        answer: answerPreview(result, target.redactor),
        events: 1,
        to: target.shown,
      });
    },
    { concurrency: CONCURRENCY },
  );
}
