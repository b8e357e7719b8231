import type { FormEvent } from '../events.js';
import { toMessage } from '../events.js';
import { answerPreview, classify, type Outcome } from './classify.js';
import type { DeliveryDeps } from './delivery.js';
import { isRobot, type Endpoint } from './endpoints.js';
import { composeSingle, DIALECTS } from './robots/compose.js';
import { toLead } from './robots/lead.js';
import { standardHeaders, USER_AGENT } from './standard.js';
import { resolveTarget } from './target.js';

/** What `webhooks test` did: sent and came to an outcome, or had to wait for the window. */
export type TestSendResult =
  | {
      readonly sent: true;
      readonly to: string;
      readonly outcome: Outcome;
      readonly latencyMs: number;
      readonly answer: string;
    }
  | { readonly sent: false; readonly nextAt: number };

/**
 * Sends one event to an endpoint now, as the delivery would (signed, in the robot's format),
 * for the CLI's `webhooks test`. It takes its send from the endpoint's shared window, so a
 * test never pushes a robot over its limit, and logs the attempt; nothing is queued or retried.
 */
export async function sendTestEvent(
  deps: DeliveryDeps,
  endpoint: Endpoint,
  event: FormEvent,
): Promise<TestSendResult> {
  const target = await resolveTarget(endpoint, deps.parameters, {
    allowLoopback: deps.allowLoopback,
    nowMs: deps.clock.now(),
  });
  const limits = {
    perMinute: endpoint.ratePerMinute,
    ...(endpoint.ratePerSecond !== undefined && { perSecond: endpoint.ratePerSecond }),
  };
  const grant = await deps.window.take(endpoint.name, limits, 1);
  if (grant.granted === 0) return { sent: false, nextAt: grant.nextAt };
  const nowMs = deps.clock.now();
  let request: { url: string; headers: Record<string, string>; body: string };
  if (isRobot(endpoint.format)) {
    const dialect = DIALECTS[endpoint.format];
    const signed = dialect.request(composeSingle(dialect, toLead(event)).payload, {
      url: target.url,
      ...(target.secret !== undefined && { secret: target.secret }),
      nowMs,
    });
    request = {
      ...signed,
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    };
  } else {
    const body = toMessage(event).body;
    request = {
      url: target.url,
      body,
      headers: standardHeaders({ id: event.id, body, keys: target.keys ?? [], nowMs }),
    };
  }
  const result = await deps.http.post(request);
  const outcome = classify(result, {
    ...(isRobot(endpoint.format) && { dialect: DIALECTS[endpoint.format] }),
    nowMs: deps.clock.now(),
  });
  const answer = answerPreview(result, target.redactor);
  await deps.attempts.log(endpoint.name, [
    {
      eventId: event.id,
      atMs: nowMs,
      attempt: 1,
      status: outcome.status,
      ...(outcome.code !== undefined && { code: outcome.code }),
      latencyMs: result.latencyMs,
      answer,
      outcome:
        outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'retry' ? 'retry' : 'dead',
      ...(outcome.kind !== 'delivered' && { reason: outcome.reason }),
      events: 1,
    },
  ]);
  return { sent: true, to: target.shown, outcome, latencyMs: result.latencyMs, answer };
}
