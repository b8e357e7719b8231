import { describe, expect, it } from 'vitest';
import { ConfigError, loadWeibanConfig } from '../../../lib/config.js';

describe('loadWeibanConfig (token-check’s settings)', () => {
  it('reads the Weiban variables alone, with the service’s defaults', () => {
    const config = loadWeibanConfig({ WEIBAN_CORP_ID: 'corp-1', WEIBAN_SECRET: 'topsecret-value' });

    expect(config).toEqual({
      weibanBaseUrl: 'https://open.weibanzhushou.com',
      corpId: 'corp-1',
      secret: { kind: 'plain', value: 'topsecret-value' },
      maxInFlight: 4,
      maxPerMinute: 500,
      maxPerHour: 30_000,
      tokenTtlFallbackSeconds: 7200,
      requestTimeoutMs: 10_000,
    });
  });

  it('takes the secret from SSM when only WEIBAN_SECRET_PARAM is set', () => {
    const config = loadWeibanConfig({
      WEIBAN_CORP_ID: 'corp-1',
      WEIBAN_SECRET_PARAM: '/weiban-forms/prod/weiban-secret',
    });

    expect(config.secret).toEqual({ kind: 'ssm', name: '/weiban-forms/prod/weiban-secret' });
  });

  it.each([
    [{ WEIBAN_SECRET: 's' }, 'WEIBAN_CORP_ID'],
    [{ WEIBAN_CORP_ID: 'c' }, 'WEIBAN_SECRET_PARAM'],
    [{ WEIBAN_CORP_ID: 'c', WEIBAN_SECRET: 's', WEIBAN_BASE_URL: 'ftp://x' }, 'WEIBAN_BASE_URL'],
  ])('names the bad variable in %j', (env, variable) => {
    expect(() => loadWeibanConfig(env)).toThrow(ConfigError);
    expect(() => loadWeibanConfig(env)).toThrow(new RegExp(`^${variable} `));
  });

  it('needs neither FORM_IDS, TABLE_NAME nor TOPIC_ARN', () => {
    expect(() => loadWeibanConfig({ WEIBAN_CORP_ID: 'c', WEIBAN_SECRET: 's' })).not.toThrow();
  });
});
