import {
  GetParameterCommand,
  ParameterNotFound,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { SECRET_MAX_AGE_S, secretSource, SecretUnavailableError } from '../../lib/secret.js';
import { tokenFetcher } from '../../lib/weiban/client.js';
import { WeibanApiError } from '../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../lib/weiban/limiter.js';
import { WeibanTransport } from '../../lib/weiban/transport.js';
import { errcode, json, scriptedFetch, type Answer } from '../support/fake-fetch.js';

const NAME = '/weiban-forms/prod/weiban-secret';
const OLD = 'old-secret-5f1e9a';
const NEW = 'new-secret-8c2d47';
const SSM = { kind: 'ssm', name: NAME } as const;

const ssmClient = new SSMClient({
  region: 'ap-northeast-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const ssm = mockClient(ssmClient);

const parameter = (value: string) => ({
  Parameter: { Name: NAME, Type: 'SecureString' as const, Value: value, Version: 1 },
});

/** SSM holds `values[0]` for the first read, `values[1]` for the second, and so on. */
function ssmHolds(...values: string[]): void {
  let chain = ssm.on(GetParameterCommand, { Name: NAME, WithDecryption: true });
  for (const value of values) chain = chain.resolvesOnce(parameter(value));
}

const reads = () => ssm.commandCalls(GetParameterCommand).length;

/** A fake Weiban token endpoint that accepts only `accepted()` and records the secrets sent. */
function weiban(accepted: () => string, refusal: Answer = errcode(10003, 'bad secret')) {
  const sent: string[] = [];
  const fake = scriptedFetch(() => {
    const body = JSON.parse(fake.bodies.at(-1) ?? '{}') as { secret?: string };
    sent.push(body.secret ?? '');
    return body.secret === accepted()
      ? json({ errcode: 0, errmsg: 'ok', access_token: `token-${sent.length}`, expires_in: 7200 })
      : refusal;
  });
  return { fetch: fake.fetch, sent };
}

function fetcherFor(fetch: typeof globalThis.fetch, clock: VirtualClock) {
  const transport = new WeibanTransport({
    baseUrl: 'http://weiban.test',
    limiter: new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock }),
    clock,
    requestTimeoutMs: 1_000,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    fetch,
  });
  return tokenFetcher(transport, 'corp-1', secretSource(SSM, ssmClient, clock));
}

describe('the Weiban secret from SSM', () => {
  beforeEach(() => {
    ssm.reset();
  });

  it('reads the SecureString decrypted and reuses it within the max age', async () => {
    ssmHolds(OLD, NEW);
    const clock = new VirtualClock();
    const secret = secretSource(SSM, ssmClient, clock);

    const first = await secret.get();
    clock.advance(SECRET_MAX_AGE_S * 1000 - 1_000);
    const second = await secret.get();

    expect([first, second]).toEqual([OLD, OLD]);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: NAME,
      WithDecryption: true,
    });
  });

  it('reads it again once the max age has passed, and picks up a new value', async () => {
    ssmHolds(OLD, NEW);
    const clock = new VirtualClock();
    const secret = secretSource(SSM, ssmClient, clock);
    await secret.get();

    clock.advance(SECRET_MAX_AGE_S * 1000);
    const later = await secret.get();

    expect(later).toBe(NEW);
    expect(reads()).toBe(2);
    expect(SECRET_MAX_AGE_S).toBe(300);
  });

  it('reads it again at once when asked to, whatever its age', async () => {
    ssmHolds(OLD, NEW);
    const secret = secretSource(SSM, ssmClient, new VirtualClock());
    await secret.get();

    const reread = await secret.reread();
    const cached = await secret.get();

    expect([reread, cached]).toEqual([NEW, NEW]);
    expect(reads()).toBe(2);
  });

  it.each([
    [
      'a missing parameter',
      new ParameterNotFound({ $metadata: {}, message: 'not found' }),
      'ParameterNotFound',
    ],
    [
      'a denied read',
      new SSMServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'not authorized',
      }),
      'AccessDeniedException',
    ],
  ])('names the parameter and the reason for %s', async (_label, error, reason) => {
    ssm.on(GetParameterCommand).rejects(error);
    const secret = secretSource(SSM, ssmClient, new VirtualClock());

    const failure = secret.get();

    await expect(failure).rejects.toThrow(SecretUnavailableError);
    await expect(failure).rejects.toThrow(`cannot read SSM parameter ${NAME} (${reason})`);
  });

  it('does not keep an empty value: the next read asks SSM again', async () => {
    ssmHolds('', OLD);
    const secret = secretSource(SSM, ssmClient, new VirtualClock());

    await expect(secret.get()).rejects.toThrow(`SSM parameter ${NAME} is empty`);
    const next = await secret.get();

    expect(next).toBe(OLD);
    expect(reads()).toBe(2);
  });
});

describe('a token fetch after the secret was rotated', () => {
  beforeEach(() => {
    ssm.reset();
  });

  it('re-reads the parameter at once when Weiban refuses, and retries once with the new secret', async () => {
    ssmHolds(OLD, NEW);
    const clock = new VirtualClock();
    let current = OLD;
    const fake = weiban(() => current);
    const fetchToken = fetcherFor(fake.fetch, clock);
    await fetchToken();

    // The operator regenerates the secret in Weiban and puts the new one in SSM.
    current = NEW;
    clock.advance(60_000);
    const token = await fetchToken();

    expect(token.accessToken).toBe('token-3');
    expect(fake.sent).toEqual([OLD, OLD, NEW]);
    expect(reads()).toBe(2);
  });

  it('gives up with the refusal when SSM still holds the refused secret, without asking Weiban twice', async () => {
    ssmHolds(OLD, OLD);
    const fake = weiban(() => NEW, errcode(10003, `secret ${OLD} is wrong`));
    const fetchToken = fetcherFor(fake.fetch, new VirtualClock());

    const failure = fetchToken();

    await expect(failure).rejects.toThrow(WeibanApiError);
    await expect(failure).rejects.toThrow('errcode 10003');
    await expect(failure).rejects.not.toThrow(OLD);
    expect(fake.sent).toEqual([OLD]);
    expect(reads()).toBe(2);
  });

  it.each([
    ['10052, too many in flight', 10052],
    ['10053, over the per-minute budget', 10053],
  ])(
    'keeps the secret in memory when the token call fails on a limit (%s)',
    async (_label, code) => {
      ssmHolds(OLD, NEW);
      const fake = weiban(() => 'never', errcode(code, 'limit'));
      const fetchToken = fetcherFor(fake.fetch, new VirtualClock());

      await expect(fetchToken()).rejects.toThrow(`errcode ${code}`);

      expect(fake.sent.every((sent) => sent === OLD)).toBe(true);
      expect(reads()).toBe(1);
    },
  );

  it('keeps both secrets out of the error when Weiban echoes them', async () => {
    ssmHolds(OLD, NEW);
    const fake = weiban(() => 'neither', errcode(40013, `invalid secret ${OLD}/${NEW}`));
    const fetchToken = fetcherFor(fake.fetch, new VirtualClock());

    const error = await fetchToken().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WeibanApiError);
    const text = error instanceof Error ? `${error.message} ${String(error.stack)}` : '';
    expect(text).toContain('errcode 40013');
    expect(text).not.toContain(OLD);
    expect(text).not.toContain(NEW);
    expect(fake.sent).toEqual([OLD, NEW]);
  });
});
