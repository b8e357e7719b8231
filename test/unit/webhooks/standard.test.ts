import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signingKeys, SigningSetupError, standardHeaders } from '../../../lib/webhooks/standard.js';
import { eventBody, formEvent } from '../../fixtures/events.js';

// Secrets are fresh random bytes per run; nothing depends on their value.
const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const body = eventBody(formEvent());
const id = 'weiban:corp-1:842:768';

/** Verifies as a consumer would, with the official package, at `nowMs`. */
function verify(withSecret: string, headers: Record<string, string>, nowMs: number): unknown {
  const realNow = Date.now;
  Date.now = () => nowMs;
  try {
    return new Webhook(withSecret).verify(body, headers);
  } finally {
    Date.now = realNow;
  }
}

describe('Standard Webhooks signing', () => {
  const nowMs = 1_788_229_410_123;

  it('signs id.timestamp.body so that the official standardwebhooks package verifies it', () => {
    const current = secret();
    const headers = standardHeaders({ id, body, keys: signingKeys(current, nowMs), nowMs });

    expect(verify(current, headers, nowMs)).toEqual(JSON.parse(body));
    expect(headers).toMatchObject({
      'webhook-id': id,
      'webhook-timestamp': '1788229410',
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^weiban-forms-webhooks\//),
    });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('fails verification with another secret, a changed body or a stale timestamp', () => {
    const current = secret();
    const headers = standardHeaders({ id, body, keys: signingKeys(current, nowMs), nowMs });

    expect(() => verify(secret(), headers, nowMs)).toThrow(/No matching signature/);
    expect(() => verify(current, { ...headers, 'webhook-id': 'other' }, nowMs)).toThrow();
    expect(() => verify(current, headers, nowMs + 6 * 60_000)).toThrow(/too old/);
  });

  it('sends both signatures during a rotation, and drops the old one once its grace ends', () => {
    const [current, previous] = [secret(), secret()];
    const rotation = JSON.stringify({
      current,
      previous: [{ secret: previous, until: nowMs + 1 }],
    });

    const during = standardHeaders({ id, body, keys: signingKeys(rotation, nowMs), nowMs });
    const after = standardHeaders({ id, body, keys: signingKeys(rotation, nowMs + 1), nowMs });

    expect(during['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify(current, during, nowMs)).toBeDefined();
    expect(verify(previous, during, nowMs)).toBeDefined();
    expect(after['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(() => verify(previous, after, nowMs)).toThrow(/No matching signature/);
  });

  it.each([
    ['a secret without the whsec_ prefix', 'c2VjcmV0'],
    ['an empty whsec_ secret', 'whsec_'],
    ['JSON of another shape', '{"secret":"whsec_c2VjcmV0"}'],
    ['a rotation whose current secret is not base64', '{"current":"whsec_!!!","previous":[]}'],
  ])('refuses %s as a signing setup error', (_what, value) => {
    expect(() => signingKeys(value, nowMs)).toThrow(SigningSetupError);
  });
});
