import type { FormEvent } from '../events.js';
import { toMessage } from '../publish/message.js';
import { answerPreview, classify, type Outcome } from './classify.js';
import type { DeliveryDeps } from './ports.js';
import { limitsOf, robotRequest, standardRequest } from './requests.js';
import { isRobot, type Endpoint } from './endpoints.js';
import { composeSingle, DIALECTS } from './robots/compose.js';
import { toLead } from './robots/lead.js';
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
  const grant = await deps.window.take(endpoint.name, limitsOf(endpoint), 1);
  if (grant.granted === 0) return { sent: false, nextAt: grant.nextAt };
  const nowMs = deps.clock.now();
  const dialect = isRobot(endpoint.format) ? DIALECTS[endpoint.format] : undefined;
  const request =
    dialect === undefined
      ? standardRequest(target, { id: event.id, body: toMessage(event).body, nowMs })
      : robotRequest(dialect, composeSingle(dialect, toLead(event)).payload, target, nowMs);
  const result = await deps.http.post(request);
  const outcome = classify(result, {
    ...(dialect !== undefined && { dialect }),
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
