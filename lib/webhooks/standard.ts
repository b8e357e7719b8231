import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { toUnixSeconds } from '../clock.js';
import { ServiceError } from '../errors.js';

/** Names the product to receivers, as the Standard Webhooks spec recommends. */
export const USER_AGENT = 'weiban-forms-webhooks/1.0';

/** The secret in `secretParam` cannot be used to sign: a setup problem, not worth retrying. */
export class SigningSetupError extends ServiceError {}

const PREFIX = 'whsec_';

const rotationSchema = z.object({
  current: z.string(),
  previous: z.array(z.object({ secret: z.string(), until: z.number() })).default([]),
});

/** The secrets a `secretParam` value holds: the current one, and earlier ones with their end. */
export interface SecretRotation {
  readonly current: string;
  readonly previous: readonly { readonly secret: string; readonly until: number }[];
}

/**
 * Reads a `secretParam` value: a bare `whsec_…` secret, or
 * `{"current":"whsec_…","previous":[{"secret":"whsec_…","until":<epoch ms>}]}` during a
 * rotation (what `webhooks rotate-secret` writes). Every secret must be whsec_ and base64.
 */
export function readRotation(value: string): SecretRotation {
  const text = value.trim();
  let rotation: SecretRotation;
  if (text.startsWith(PREFIX)) rotation = { current: text, previous: [] };
  else {
    try {
      rotation = rotationSchema.parse(JSON.parse(text));
    } catch {
      throw new SigningSetupError(
        'the signing secret is neither a whsec_ secret nor {"current","previous"} JSON',
      );
    }
  }
  for (const secret of [rotation.current, ...rotation.previous.map((entry) => entry.secret)]) {
    decodeSecret(secret);
  }
  return rotation;
}

/**
 * The keys to sign with at `nowMs`, from the `secretParam` value (see readRotation): the
 * current secret, and during a rotation each previous secret still valid as well.
 */
export function signingKeys(value: string, nowMs: number): Buffer[] {
  const rotation = readRotation(value);
  return [
    decodeSecret(rotation.current),
    ...rotation.previous
      .filter((entry) => entry.until > nowMs)
      .map((entry) => decodeSecret(entry.secret)),
  ];
}

function decodeSecret(secret: string): Buffer {
  const base64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : undefined;
  const key = base64 !== undefined && /^[A-Za-z0-9+/]+=*$/.test(base64) ? b64(base64) : undefined;
  if (key === undefined || key.length === 0) {
    throw new SigningSetupError('a signing secret is not whsec_ followed by base64');
  }
  return key;
}

const b64 = (text: string): Buffer => Buffer.from(text, 'base64');

/**
 * The Standard Webhooks headers for one attempt: `webhook-id` is the event id (the same on
 * every retry and replay), `webhook-timestamp` the attempt's unix seconds, and
 * `webhook-signature` one `v1,` signature per key, space-separated.
 */
export function standardHeaders({
  id,
  body,
  keys,
  nowMs,
}: {
  id: string;
  body: string;
  keys: readonly Buffer[];
  nowMs: number;
}): Record<string, string> {
  const timestamp = String(toUnixSeconds(nowMs));
  const signed = `${id}.${timestamp}.${body}`;
  const signatures = keys.map(
    (key) => `v1,${createHmac('sha256', key).update(signed, 'utf8').digest('base64')}`,
  );
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}
