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

/**
 * The keys to sign with at `nowMs`, from the `secretParam` value: a bare `whsec_…` secret, or
 * `{"current":"whsec_…","previous":[{"secret":"whsec_…","until":<epoch ms>}]}` during a
 * rotation, when each previous secret still valid is used as well.
 */
export function signingKeys(value: string, nowMs: number): Buffer[] {
  const text = value.trim();
  if (text.startsWith(PREFIX)) return [decodeSecret(text)];
  let parsed: z.infer<typeof rotationSchema>;
  try {
    parsed = rotationSchema.parse(JSON.parse(text));
  } catch {
    throw new SigningSetupError(
      'the signing secret is neither a whsec_ secret nor {"current","previous"} JSON',
    );
  }
  return [
    decodeSecret(parsed.current),
    ...parsed.previous.filter((entry) => entry.until > nowMs).map((e) => decodeSecret(e.secret)),
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
