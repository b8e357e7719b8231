import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { Redactor } from '../../../lib/errors.js';
import {
  ConcurrencyLimitError,
  FormQueryError,
  MalformedResponseError,
  RateLimitedError,
  TokenExpiredError,
  TransportError,
  WeibanApiError,
} from '../../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../../lib/weiban/limiter.js';
import type { CallOutcome } from '../../../lib/weiban/meter.js';
import { WeibanTransport } from '../../../lib/weiban/transport.js';
import { errcode, json, scriptedFetch, type Answer } from '../../support/fake-fetch.js';

const TOKEN = 'tok-1234567890';

function setup(...answers: Answer[]) {
  const clock = new VirtualClock({ scale: 1_000 });
  const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
  const fake = scriptedFetch(...answers);
  const outcomes: CallOutcome[] = [];
  const transport = new WeibanTransport({
    baseUrl: 'http://weiban.test',
    limiter,
    clock,
    requestTimeoutMs: 200,
    fetch: fake.fetch,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 40 },
    observe: (outcome) => outcomes.push(outcome),
  });
  const call = () =>
    transport.call({
      endpoint: 'form/user/list',
      path: '/open-api/smart_form/form/user/list',
      method: 'GET',
      query: { access_token: TOKEN, form_id: 842, start_time: undefined },
      schema: z.looseObject({ total: z.number().int().nonnegative() }),
      secrets: [TOKEN],
    });
  return { call, fake, limiter, clock, outcomes };
}

describe('WeibanTransport', () => {
  it('sends the token in the query string and returns the validated body', async () => {
    const { call, fake } = setup(json({ errcode: 0, errmsg: 'ok', total: 3 }));

    await expect(call()).resolves.toMatchObject({ total: 3 });
    expect(fake.urls[0]?.pathname).toBe('/open-api/smart_form/form/user/list');
    expect(fake.urls[0]?.searchParams.get('access_token')).toBe(TOKEN);
    expect(fake.urls[0]?.searchParams.has('start_time')).toBe(false);
  });

  it.each([
    [10001, TokenExpiredError],
    [10052, ConcurrencyLimitError],
    [21902, FormQueryError],
    [21901, WeibanApiError],
    [99999, WeibanApiError],
  ])('maps errcode %i to %s', async (code, type) => {
    const { call } = setup(errcode(code));

    const error: unknown = await call().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ errcode: code, endpoint: 'form/user/list' });
  });

  it.each([
    ['10052 (too many in flight)', errcode(10052)],
    ['21902 (query failed)', errcode(21902)],
    ['an HTML 502 from a proxy', { status: 502, body: '<html><body>Bad Gateway</body></html>' }],
    ['a 200 that is not JSON', { body: 'upstream reset' }],
  ])('retries %s with backoff, then succeeds', async (_, first) => {
    const { call, fake } = setup(first, json({ errcode: 0, errmsg: 'ok', total: 1 }));

    await expect(call()).resolves.toMatchObject({ total: 1 });
    expect(fake.urls).toHaveLength(2);
  });

  it('gives up after the configured attempts with the last error', async () => {
    const { call, fake } = setup({ status: 504, body: '<html>Gateway Timeout</html>' });

    await expect(call()).rejects.toThrow(TransportError);
    await expect(call()).rejects.toMatchObject({ status: 504 });
    expect(fake.urls).toHaveLength(6);
  });

  it('does not retry a 10053; it blocks the endpoint for 60 s instead', async () => {
    const { call, fake, limiter, clock } = setup(
      errcode(10053, 'frequency limit'),
      json({ errcode: 0, total: 0 }),
    );

    const before = clock.now();
    await expect(call()).rejects.toBeInstanceOf(RateLimitedError);
    await expect(call()).rejects.toBeInstanceOf(RateLimitedError);
    expect(fake.urls).toHaveLength(1);
    expect(limiter.blockedUntil('form/user/list')).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('does not retry a body of the wrong shape (G8)', async () => {
    const { call, fake } = setup(json({ errcode: 0, errmsg: 'ok', total: -1 }));

    await expect(call()).rejects.toThrow(MalformedResponseError);
    await expect(call()).rejects.toThrow(/total/);
    expect(fake.urls).toHaveLength(2);
  });

  it('treats a JSON answer without errcode as malformed', async () => {
    const { call } = setup(json({ total: 1 }));

    await expect(call()).rejects.toThrow(MalformedResponseError);
  });

  it('never lets the token into an error, even when Weiban echoes it', async () => {
    const { call } = setup(errcode(10001, `invalid access_token ${TOKEN}`));

    const error: unknown = await call().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TokenExpiredError);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(TOKEN);
  });

  it('masks a credential seen on an earlier call when a later errmsg echoes it', async () => {
    const redactor = new Redactor();
    const clock = new VirtualClock();
    const fake = scriptedFetch(
      json({ errcode: 0, errmsg: 'ok', access_token: TOKEN }),
      errcode(40001, 'bad secret: the-corp-secret'),
    );
    const transport = new WeibanTransport({
      baseUrl: 'http://weiban.test',
      limiter: new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock }),
      clock,
      requestTimeoutMs: 200,
      fetch: fake.fetch,
      redactor,
    });
    const schema = z.looseObject({});
    await transport.call({
      endpoint: 'token',
      path: '/t',
      method: 'POST',
      schema,
      secrets: ['the-corp-secret'],
    });

    const error: unknown = await transport
      .call({ endpoint: 'list', path: '/l', method: 'GET', schema, secrets: [TOKEN] })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ errmsg: 'bad secret: ***' });
  });

  it('times out a slow answer and reports it as retryable transport trouble', async () => {
    const { call } = setup({ body: '{}', delayMs: 5_000 });

    await expect(call()).rejects.toThrow(/no answer within 200 ms/);
  });

  it('reports each answer for metrics', async () => {
    const { call, outcomes } = setup(
      errcode(10052),
      { status: 502, body: 'x' },
      json({ errcode: 0, total: 0 }),
    );

    await call();

    expect(outcomes.map((outcome) => outcome.result)).toEqual([10052, 'transport', 0]);
  });
});
