import type { Endpoint } from './endpoints.js';
import type { HttpRequest } from './http.js';
import type { RateLimits } from './rate-window.js';
import type { Payload, RobotDialect } from './robots/dialect.js';
import { standardHeaders, USER_AGENT } from './standard.js';
import type { Target } from './target.js';

/** The endpoint's send limits for its window. */
export const limitsOf = (endpoint: Endpoint): RateLimits => ({
  perMinute: endpoint.ratePerMinute,
  ...(endpoint.ratePerSecond !== undefined && { perSecond: endpoint.ratePerSecond }),
});

/**
 * A `standard` delivery: the body byte for byte as given (the event JSON exactly as
 * published), signed for this attempt.
 */
export function standardRequest(
  target: Target,
  { id, body, nowMs }: { id: string; body: string; nowMs: number },
): HttpRequest {
  return {
    url: target.url,
    body,
    headers: standardHeaders({ id, body, keys: target.keys ?? [], nowMs }),
  };
}

/** A robot message, signed as the robot wants when it has a secret. */
export function robotRequest(
  dialect: RobotDialect,
  payload: Payload,
  target: Target,
  nowMs: number,
): HttpRequest {
  const signed = dialect.request(payload, {
    url: target.url,
    ...(target.secret !== undefined && { secret: target.secret }),
    nowMs,
  });
  return { ...signed, headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT } };
}
